"""Language detection: script cues, an n-gram model trained on a few examples, and the hint for short messages."""

import pickle
import re
from pathlib import Path

import pytest
import yaml

from nlu.language import LanguageDetector

TRAINING = {
    "en": [
        "I need sick leave tomorrow", "how many vacation days do I have left", "show my payslip for October",
        "my laptop won't turn on", "do we have A4 paper", "remind me at 5pm to submit the report",
        "what do I need to approve", "I want to talk to HR", "status of my ticket please", "thanks a lot",
    ],
    "ru": [
        "мне нужен больничный завтра", "сколько дней отпуска у меня осталось", "покажи расчётный лист за октябрь",
        "ноутбук не включается", "есть ли бумага а4", "напомни в 17:00 сдать отчёт",
    ],
    "uz": [
        "ertaga kasallik ta'tili kerak", "menda qancha ta'til kuni qoldi", "oktyabr uchun oylik varaqasini ko'rsat",
        "noutbukim yoqilmayapti", "qog'oz bormi", "soat 17:00 da hisobotni topshirishni eslat",
        "men HR bilan gaplashmoqchiman", "tiketim holati qanday", "rahmat katta", "nima tasdiqlashim kerak",
    ],
    "az": [
        "sabah xəstəlik məzuniyyəti lazımdır", "neçə gün məzuniyyətim qalıb", "oktyabr üçün maaş vərəqəsini göstər",
        "noutbukum açılmır", "kağız varmı", "saat 17:00-da hesabatı xatırlat", "HR ilə danışmaq istəyirəm",
        "tiketimin statusu necədir", "çox sağ ol", "nəyi təsdiqləməliyəm",
    ],
    "el": [
        "χρειάζομαι άδεια ασθενείας αύριο", "πόσες μέρες άδεια μου έχουν μείνει", "δείξε μου τη μισθοδοσία Οκτωβρίου",
        "ο φορητός μου δεν ανοίγει", "έχουμε χαρτί Α4", "θύμισέ μου στις 5 να στείλω την αναφορά",
        "θέλω να μιλήσω με το τμήμα προσωπικού", "ποια είναι η κατάσταση του αιτήματός μου", "ευχαριστώ πολύ",
    ],
    "vi": [
        "tôi cần nghỉ ốm ngày mai", "tôi còn bao nhiêu ngày phép", "cho tôi xem phiếu lương tháng 10",
        "máy tính của tôi không bật được", "còn giấy A4 không", "nhắc tôi lúc 5 giờ chiều nộp báo cáo",
        "tôi muốn nói chuyện với nhân sự", "tình trạng yêu cầu của tôi thế nào", "cảm ơn nhiều",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    texts = [text for texts in TRAINING.values() for text in texts]
    languages = [language for language, texts in TRAINING.items() for _ in texts]
    return LanguageDetector.fit(texts, languages)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can I take a day off on Friday", "en"),
        ("where is my payslip", "en"),
        ("хочу взять отпуск", "ru"),
        ("ertaga ishga kela olmayman", "uz"),
        ("qogʻoz tugadi", "uz"),  # Uzbek oʻ/gʻ in any apostrophe style
        ("qog‘oz tugadi", "uz"),
        ("menga ta'til kerak", "uz"),
        ("məzuniyyət götürmək istəyirəm", "az"),
        ("sabah isde olmayacagam, xestelik", "az"),
        ("θέλω άδεια την Παρασκευή", "el"),
        ("thelw adeia tin paraskevi", "el"),  # Greeklish
        ("tôi muốn nghỉ phép thứ sáu", "vi"),
        ("toi muon nghi phep thu sau", "vi"),  # unaccented Vietnamese
        ("cho toi xem phieu luong", "vi"),
    ],
)
def test_detects_each_language(detector: LanguageDetector, text: str, language: str) -> None:
    assert detector.detect(text) == language


@pytest.mark.parametrize("text", ["ok", "42", "👍", "?", "k thx"])
def test_short_messages_keep_the_hint(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text, hint="az") == "az"
    assert detector.detect(text, hint="vi") == "vi"


@pytest.mark.parametrize("text", ["toi ko di lam dc", "mai e ko di lam dc", "e bi om ko di dc a"])
def test_several_short_words_tell_the_language_without_a_hint(detector: LanguageDetector, text: str) -> None:
    # Vietnamese typed without tones: no word of four letters, but several words of two or three.
    assert detector.detect(text) == "vi"
    assert detector.detect(text, hint="vi") == "vi"


def test_clear_text_overrules_a_wrong_hint(detector: LanguageDetector) -> None:
    assert detector.detect("how many vacation days do I have left this year", hint="uz") == "en"
    assert detector.detect("сколько дней отпуска осталось", hint="en") == "ru"


def test_returns_a_known_language_without_a_hint(detector: LanguageDetector) -> None:
    assert detector.detect("👍") in TRAINING


def test_survives_pickling(detector: LanguageDetector) -> None:
    restored = pickle.loads(pickle.dumps(detector))
    assert restored.detect("toi muon nghi phep") == detector.detect("toi muon nghi phep") == "vi"


def test_refuses_mismatched_training_data() -> None:
    with pytest.raises(ValueError):
        LanguageDetector.fit(["hello"], ["en", "ru"])


DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _examples(language: str) -> list[str]:
    document = yaml.safe_load((DATA / f"{language}.yml").read_text(encoding="utf-8"))
    texts = []
    for block in document.get("nlu", []):
        if "intent" in block:
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    texts.append(_ANNOTATION.sub(r"\1", line.strip()[2:]))
    return texts


@pytest.mark.skipif(not all((DATA / f"{lang}.yml").exists() for lang in TRAINING), reason="training data missing")
def test_fits_on_the_training_data_and_holds_out_well() -> None:
    texts, languages, held_out = [], [], []
    for language in TRAINING:
        for index, text in enumerate(_examples(language)):
            if index % 5 == 0:
                held_out.append((text, language))
            else:
                texts.append(text)
                languages.append(language)
    detector = LanguageDetector.fit(texts, languages)
    correct = sum(detector.detect(text, hint=language) == language for text, language in held_out)
    assert correct / len(held_out) > 0.93
