"""Per-language words for dates, months, times, ids and quantities.

Every string is a small regular-expression fragment written in natural spelling; grammars fold them
(lower case, no accents, ё→е, й→и, ə→e, ı→i, ς→σ) before compiling, so write only lower-case escapes
(`\\s`, `\\d`, `\\w`), never `\\S`/`\\D`/`\\W`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")


@dataclass(frozen=True)
class LanguageWords:
    months: tuple[str, ...] = ()  # 12 alternations, January first
    ambiguous_months: str = ""  # month words that are also ordinary words ("may")
    weekdays: tuple[str, ...] = ()  # 7 alternations, Monday first
    relative_days: dict[int, str] = field(default_factory=dict)  # day offset → alternation
    next_modifier: str = ""  # before a weekday: "next Monday"
    this_modifier: str = ""
    next_week: str = ""  # on its own, or after a weekday ("Monday next week")
    this_week: str = ""
    range_to: str = ""  # between the two ends of a range
    between: str = ""  # "between A and B"
    between_and: str = ""
    suffix: str = ""  # case endings glued to a date (Uzbek/Azerbaijani -dan, -gacha)
    from_suffix: str = ""
    to_suffix: str = ""
    day_ordinal: str = ""  # glued to a day number: 5th, 5-го, 5-chi
    day_prefix: str = ""  # marks a bare day number as a date: "ngày 5", "the 5th"
    day_unit: str = ""
    week_unit: str = ""
    offsets_before: str = ""  # "in 3 days", "через 3 дня"
    offsets_after: str = ""  # "3 kundan keyin", "3 ngày nữa"
    duration_before: str = ""  # "for 3 days"
    duration_after: str = ""  # "3 kunga"
    last_month: str = ""
    this_month: str = ""
    month_prefix: str = ""  # "for October", "за октябрь"
    month_numeric: str = ""  # "tháng 10": a month given as a number
    year_word: str = ""  # after a year number: "2026 г.", "năm 2026"
    time_cue: str = ""  # "at 5", "lúc 5"
    weak_time_cue: str = ""  # needs minutes or an hour word after it (Russian "в")
    hour_word: str = ""
    minute_word: str = ""
    half_hour: str = ""
    morning: str = ""
    evening: str = ""  # afternoon/evening/pm
    time_suffix: str = ""  # "17:00 da"
    clock_suffix: str = ""  # makes a bare number a time without a cue word: "5pm", "5 вечера"
    ticket_words: str = ""
    request_words: str = ""
    number_words: str = ""  # "number", "№", "no."
    movement_words: str = ""  # stock movements: received, issued...
    counters: str = ""  # "pcs", "шт", "ta"


ENGLISH = LanguageWords(
    months=(
        r"january|jan",
        r"february|feb",
        r"march|mar",
        r"april|apr",
        r"may",
        r"june|jun",
        r"july|jul",
        r"august|aug",
        r"september|sept|sep",
        r"october|oct",
        r"november|nov",
        r"december|dec",
    ),
    ambiguous_months=r"may|march|mar|jan|jun|sep|oct|nov|dec|aug|apr|jul|feb",
    weekdays=(
        r"monday|mon",
        r"tuesday|tues|tue",
        r"wednesday|wed",
        r"thursday|thurs|thur|thu",
        r"friday|fri",
        r"saturday",
        r"sunday",
    ),
    relative_days={
        2: r"(?:the\s+)?day\s+after\s+tomorrow",
        -2: r"(?:the\s+)?day\s+before\s+yesterday",
        1: r"tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow",
        0: r"today|tonight",
        -1: r"yesterday",
    },
    next_modifier=r"next|the\s+next|the\s+following|following",
    this_modifier=r"this|this\s+coming|coming",
    next_week=r"(?:the\s+)?(?:next|following)\s+week",
    this_week=r"this\s+week",
    range_to=r"-|to|till|until|til|through|thru",
    between=r"between",
    between_and=r"and",
    day_ordinal=r"st|nd|rd|th",
    day_prefix=r"the",
    day_unit=r"days?|working\s+days?|business\s+days?",
    week_unit=r"weeks?",
    offsets_before=r"in|in\s+a|after",
    offsets_after=r"from\s+now|later",
    duration_before=r"for",
    last_month=r"last\s+month|(?:the\s+)?previous\s+month|past\s+month",
    this_month=r"this\s+month|current\s+month",
    month_prefix=r"for|in|of|since",
    time_cue=r"at|by|@",
    hour_word=r"o'?clock|h",
    morning=r"am|a\.m\.?|in\s+the\s+morning",
    evening=r"pm|p\.m\.?|in\s+the\s+(?:afternoon|evening)|tonight",
    clock_suffix=r"am|a\.m\.?|pm|p\.m\.?",
    ticket_words=r"tickets?|tkt|incidents?|issue|case",
    request_words=r"requests?|req",
    number_words=r"number|no\.?|nr\.?|#|№",
    movement_words=(
        r"received|receive|got|took|taken|issued|issue|gave|given|added|add|used|ordered|bought|delivered|"
        r"arrived|sent|write\s+off|wrote\s+off|remove|removed|returned|dispatched|handed\s+out|stock\s+in|stock\s+out"
    ),
    counters=r"pcs|pieces?|units?|x|packs?|boxes|box|rolls?|reams?|sets?|bottles?|packets?",
)

RUSSIAN = LanguageWords(
    months=(
        r"январ[ьяею]|янв",
        r"феврал[ьяею]|фев|февр",
        r"март[аеу]?|мар",
        r"апрел[ьяею]|апр",
        r"ма[йяею]",
        r"июн[ьяею]|июн",
        r"июл[ьяею]|июл",
        r"август[аеу]?|авг",
        r"сентябр[ьяею]|сен|сент",
        r"октябр[ьяею]|окт",
        r"ноябр[ьяею]|ноя|нояб",
        r"декабр[ьяею]|дек",
    ),
    ambiguous_months=r"мар|мая|май|мае|июн|июл|сен|окт|ноя|дек|янв|фев|авг|апр",
    weekdays=(
        r"понедельник[аеу]?|пн",
        r"вторник[аеу]?|вт",
        r"сред[аыуе]|ср",
        r"четверг[аеу]?|чт",
        r"пятниц[аыуе]|пт",
        r"суббот[аыуе]|сб",
        r"воскресень[еяю]|вс",
    ),
    relative_days={
        2: r"послезавтра",
        -2: r"позавчера",
        1: r"завтра|завтрашн\w*",
        0: r"сегодня|сегодняшн\w*",
        -1: r"вчера",
    },
    next_modifier=r"следующ\w*|след\.?|ближайш\w*",
    this_modifier=r"эт[оуиа]т?|этот",
    next_week=r"(?:на\s+)?следующ\w*\s+недел\w*|(?:на\s+)?след\.?\s+недел\w*",
    this_week=r"(?:на\s+)?эт\w*\s+недел\w*",
    range_to=r"-|по|до|и\s+по",
    between=r"между",
    between_and=r"и",
    day_ordinal=r"-?го|-?е",
    day_prefix=r"",
    day_unit=r"дн\w*|день|рабочих\s+дн\w*",
    week_unit=r"недел\w*",
    offsets_before=r"через",
    offsets_after=r"спустя",
    duration_before=r"на",
    last_month=r"(?:за\s+)?прошл\w*\s+месяц\w*|(?:за\s+)?предыдущ\w*\s+месяц\w*",
    this_month=r"(?:за\s+)?(?:эт\w*|текущ\w*)\s+месяц\w*",
    month_prefix=r"за|в|на",
    year_word=r"г\.?|года|год",
    time_cue=r"",
    weak_time_cue=r"в|во|к|на",
    hour_word=r"час\w*|ч\.?",
    minute_word=r"мин\w*",
    morning=r"утра|утром|ночи",
    evening=r"вечера|вечером|дня",
    clock_suffix=r"утра|вечера",
    ticket_words=r"заявк\w*|тикет\w*|обращени\w*|инцидент\w*|задач\w*",
    request_words=r"запрос\w*|заявлени\w*",
    number_words=r"номер|ном\.?|№|#|n",
    movement_words=(
        r"получил\w*|получен\w*|пришл[оаи]|пришел|пришёл|принял\w*|принят\w*|выдал\w*|выдан\w*|выдать|"
        r"списал\w*|списать|списан\w*|взял\w*|взять|добав\w*|заказал\w*|"
        r"приход|расход|поступил\w*|отдал\w*|вернул\w*|израсходовал\w*|использовал\w*|плюс|минус"
    ),
    counters=r"шт\.?|штук\w*|пач\w*|упаков\w*|коробк\w*|рулон\w*|комплект\w*|единиц\w*|x|х",
)

UZBEK = LanguageWords(
    months=(
        r"yanvar",
        r"fevral",
        r"mart",
        r"aprel",
        r"may",
        r"iyun",
        r"iyul",
        r"avgust",
        r"sentyabr|sentabr",
        r"oktyabr|oktabr",
        r"noyabr",
        r"dekabr",
    ),
    ambiguous_months=r"may|mart",
    weekdays=(
        r"dushanba",
        r"seshanba",
        r"chorshanba",
        r"payshanba",
        r"juma",
        r"shanba",
        r"yakshanba",
    ),
    relative_days={
        2: r"indinga|indin|ertadan\s+keyin",
        1: r"erta(?=dan|gacha)|ertaga|ertangi",
        0: r"bugun",
        -1: r"kecha",
    },
    next_modifier=r"keyingi|kelasi|kelgusi",
    this_modifier=r"shu|bu",
    next_week=r"(?:keyingi|kelasi|kelgusi)\s+hafta\w*",
    this_week=r"(?:shu|bu)\s+hafta\w*",
    range_to=r"-|gacha",
    suffix=r"(?:-?(?:kun|sana)?(?:i|si|idan|dan|gacha|ga|da|ning|ni|dagi|kuni|kunidan|kunigacha|dek|cha)?)",
    from_suffix=r"dan",
    to_suffix=r"gacha|cha|dek",
    day_ordinal=r"-?(?:chi|inchi|nchi)",
    day_unit=r"kun\w*|ish\s+kun\w*",
    week_unit=r"hafta\w*",
    offsets_after=r"keyin|so'ng|o'tib",
    duration_after=r"",
    last_month=r"o'tgan\s+oy\w*|oldingi\s+oy\w*|avvalgi\s+oy\w*",
    this_month=r"(?:shu|bu|joriy)\s+oy\w*",
    month_prefix=r"",
    year_word=r"yil\w*",
    time_cue=r"soat",
    minute_word=r"daqiqa\w*|minut\w*",
    morning=r"ertalab|tong\w*",
    evening=r"kechqurun|kechki|kechasi|tushdan\s+keyin",
    time_suffix=r"da|ga|larda",
    ticket_words=r"tiket\w*|so'rov\w*|murojaat\w*|ariza\w*",
    request_words=r"so'rov\w*|ariza\w*",
    number_words=r"raqam\w*|№|#|nomer\w*",
    movement_words=(
        r"oldim|olindi|oldik|keldi|kelgan|qabul|berdim|berildi|berdik|chiqim|kirim|qo'sh\w*|ishlatil\w*|"
        r"sarflandi|hisobdan|qaytar\w*"
    ),
    counters=r"ta|dona|quti|pachka|to'plam",
)

AZERBAIJANI = LanguageWords(
    months=(
        r"yanvar",
        r"fevral",
        r"mart",
        r"aprel",
        r"may",
        r"iyun",
        r"iyul",
        r"avqust",
        r"sentyabr|sentabr",
        r"oktyabr|oktabr",
        r"noyabr",
        r"dekabr",
    ),
    ambiguous_months=r"may|mart",
    weekdays=(
        r"bazar\s+ertəsi|b\.e\.?",
        r"çərşənbə\s+axşamı|ç\.a\.?",
        r"çərşənbə",
        r"cümə\s+axşamı|c\.a\.?",
        r"cümə",
        r"şənbə",
        r"bazar",
    ),
    relative_days={
        2: r"birisi\s+gün|birisigün|birigün|o\s+biri\s+gün",
        1: r"sabah",
        0: r"bu\s+gün|bugün",
        -1: r"dünən",
    },
    next_modifier=r"gələn|növbəti|sonrakı",
    this_modifier=r"bu",
    next_week=r"(?:gələn|növbəti|sonrakı)\s+həftə\w*",
    this_week=r"bu\s+həftə\w*",
    range_to=r"-|qədər|dək|kimi",
    suffix=r"(?:-?(?:n|s|y)?(?:i|ı|u|ü)?(?:dan|dən|nadək|yədək|dək|a|ə|ya|yə|da|də|na|nə|ndan|ndən|nə|nin|nın)?(?:\s+günü\w*)?)",
    from_suffix=r"dan|dən",
    to_suffix=r"dək|nadək|yədək|a|ə|ya|yə|na|nə",
    day_ordinal=r"-?(?:ci|cı|cu|cü|nci|ncı|ncu|ncü|inci|ıncı|uncu|üncü)",
    day_unit=r"gün\w*|iş\s+gün\w*",
    week_unit=r"həftə\w*",
    offsets_after=r"sonra",
    last_month=r"(?:keçən|ötən|əvvəlki)\s+ay\w*",
    this_month=r"(?:bu|cari)\s+ay\w*",
    month_prefix=r"",
    year_word=r"il\w*",
    time_cue=r"saat",
    minute_word=r"dəqiqə\w*",
    morning=r"səhər",
    evening=r"axşam\w*|günorta\w*|gündən\s+sonra",
    time_suffix=r"da|də|a|ə|ya|yə|radək",
    ticket_words=r"tiket\w*|müraciət\w*|sorğu\w*|bilet\w*",
    request_words=r"sorğu\w*|ərizə\w*",
    number_words=r"nömrə\w*|№|#",
    movement_words=(
        r"aldım|aldıq|alındı|gəldi|qəbul|verdim|verildi|verdik|əlavə|istifadə|sərf|"
        r"silindi|qaytar\w*"
    ),
    counters=r"ədəd|dənə|qutu|paket|dəst",
)

GREEK = LanguageWords(
    months=(
        r"ιανουαρ(?:ιος|ιου|ιο)|ιαν|ianouari(?:os|ou|o)",
        r"φεβρουαρ(?:ιος|ιου|ιο)|φεβ|fevrouari(?:os|ou|o)|febrouari(?:os|ou|o)",
        r"μαρτ(?:ιος|ιου|ιο)|μαρ|marti(?:os|ou|o)",
        r"απριλ(?:ιος|ιου|ιο)|απρ|aprili(?:os|ou|o)",
        r"μαι(?:ος|ου|ο)|mai(?:os|ou|o)",
        r"ιουν(?:ιος|ιου|ιο)|ιουν|iouni(?:os|ou|o)",
        r"ιουλ(?:ιος|ιου|ιο)|ιουλ|iouli(?:os|ou|o)",
        r"αυγουστ(?:ος|ου|ο)|αυγ|avgoust(?:os|ou|o)|augoust(?:os|ou|o)",
        r"σεπτεμβρ(?:ιος|ιου|ιο)|σεπ|septemvri(?:os|ou|o)|septemvr",
        r"οκτωβρ(?:ιος|ιου|ιο)|οκτ|oktovri(?:os|ou|o)|oktwvri(?:os|ou|o)",
        r"νοεμβρ(?:ιος|ιου|ιο)|νοε|noemvri(?:os|ou|o)",
        r"δεκεμβρ(?:ιος|ιου|ιο)|δεκ|dekemvri(?:os|ou|o)",
    ),
    ambiguous_months=r"μαρ|σεπ",
    weekdays=(
        r"δευτερα[σ]?|δευ|deutera|deftera|dheftera",
        r"τριτη[σ]?|τρι|triti",
        r"τεταρτη[σ]?|τετ|tetarti",
        r"πεμπτη[σ]?|πεμ|pempti",
        r"παρασκευη[σ]?|παρ|paraskevi|paraskeui",
        r"σαββατο[υ]?|σαβ|savvato|sabbato|savato",
        r"κυριακη[σ]?|κυρ|kyriaki|kiriaki",
    ),
    relative_days={
        2: r"μεθαυριο|methavrio|methaurio",
        -2: r"προχθες|προχτες|proxthes|proxtes",
        1: r"αυριο|avrio|aurio|ayrio",
        0: r"σημερα|simera",
        -1: r"χθες|χτες|xthes|xtes|chthes",
    },
    next_modifier=r"(?:την\s+|τη\s+|το\s+)?(?:επομενη|επομενο|αλλη|αλλο|ερχομενη|ερχομενο)|(?:tin\s+|ti\s+)?(?:epomeni|alli)",
    this_modifier=r"(?:αυτη\s+την|αυτη\s+τη|αυτο\s+το|αυτην\s+την)|afti\s+tin",
    next_week=(
        r"(?:την\s+|τη\s+)?(?:επομενη|αλλη|ερχομενη)\s+(?:ε)?βδομαδα|(?:tin\s+)?(?:epomeni|alli)\s+(?:e)?vdomada"
    ),
    this_week=r"(?:αυτη\s+την|αυτη\s+τη|την\s+τρεχουσα)\s+(?:ε)?βδομαδα|afti\s+tin\s+(?:e)?vdomada",
    range_to=r"-|εως|ως|μεχρι|μεχρι\s+και|εως\s+και|eos|mexri|os",
    between=r"μεταξυ",
    between_and=r"και",
    day_prefix=r"",
    day_unit=r"(?:η)?μερ\w*|meres|imeres",
    week_unit=r"(?:ε)?βδομαδ\w*|evdomad\w*",
    offsets_before=r"σε|meta\s+apo|μετα\s+απο|se",
    duration_before=r"για|gia",
    last_month=(
        r"(?:τον\s+|το\s+)?(?:προηγουμενο|περασμενο)\s+μην\w*|(?:ton\s+)?(?:proigoumeno|perasmeno)\s+mina"
    ),
    this_month=r"(?:αυτο\s+τον|αυτον\s+τον|τον\s+τρεχοντα|τρεχοντα)\s+μην\w*|(?:afto\s+ton)\s+mina",
    month_prefix=r"για|τον|του|gia|ton|tou",
    time_cue=r"στις|στη|stis|sti",
    minute_word=r"λεπτ\w*",
    morning=r"π\.?\s?μ\.?|το\s+πρωι|πρωι|to\s+proi|proi",
    clock_suffix=r"π\.?\s?μ\.?|μ\.?\s?μ\.?",
    evening=r"μ\.?\s?μ\.?|το\s+απογευμα|απογευμα|το\s+βραδυ|βραδυ|to\s+apogeuma|to\s+vrady|to\s+vradi",
    ticket_words=r"αιτημα\w*|εισιτηριο\w*|ticket\w*|δελτιο\w*|aitima\w*",
    request_words=r"αιτηση\w*|aitisi\w*",
    number_words=r"αρ\.?|αριθμ\w*|#|№|no\.?",
    movement_words=(
        r"παρελαβα|παραλαβ\w*|πηρα|ηρθαν|ηρθε|εδωσα|δοθηκ\w*|προσθεσ\w*|"
        r"χρησιμοποιηθηκ\w*|epistrofi|parelava|pira"
    ),
    counters=r"τεμ\.?|τεμαχι\w*|κουτι\w*|πακετ\w*|τμχ",
)

VIETNAMESE = LanguageWords(
    months=(),
    weekdays=(
        r"thứ\s+hai|thứ\s+2|t2",
        r"thứ\s+ba|thứ\s+3|t3",
        r"thứ\s+tư|thứ\s+4|t4",
        r"thứ\s+năm|thứ\s+5|t5",
        r"thứ\s+sáu|thứ\s+6|t6",
        r"thứ\s+bảy|thứ\s+bẩy|thứ\s+7|t7",
        r"chủ\s+nhật|cn",
    ),
    relative_days={
        2: r"ngày\s+kia|ngày\s+mốt|bữa\s+mốt",
        1: r"ngày\s+mai|sáng\s+mai|chiều\s+mai|tối\s+mai|mai",
        0: r"hôm\s+nay|bữa\s+nay|ngày\s+hôm\s+nay",
        -1: r"hôm\s+qua",
    },
    next_modifier=r"",
    this_modifier=r"",
    next_week=r"tuần\s+sau|tuần\s+tới",
    this_week=r"tuần\s+này",
    range_to=r"-|đến|tới|đến\s+hết",
    day_prefix=r"ngày|mùng|mồng",
    day_unit=r"ngày",
    week_unit=r"tuần",
    offsets_before=r"sau",
    offsets_after=r"nữa|sau",
    last_month=r"tháng\s+trước|tháng\s+rồi|tháng\s+vừa\s+rồi",
    this_month=r"tháng\s+này",
    month_prefix=r"",
    month_numeric=r"tháng",
    year_word=r"năm",
    time_cue=r"lúc|vào\s+lúc|vào",
    hour_word=r"giờ|h",
    minute_word=r"phút",
    half_hour=r"rưỡi",
    morning=r"sáng",
    evening=r"chiều|tối|trưa",
    ticket_words=r"ticket|yêu\s+cầu|phiếu|sự\s+cố",
    request_words=r"đơn",
    number_words=r"số|#|№",
    movement_words=r"nhận|nhập|xuất|lấy|cấp|thêm|đã\s+nhận|giao|trả",
    counters=r"cái|chiếc|hộp|cuộn|ram|bộ|gói|chai|cây|tờ|quyển",
)

WORDS: dict[str, LanguageWords] = {
    "en": ENGLISH,
    "ru": RUSSIAN,
    "uz": UZBEK,
    "az": AZERBAIJANI,
    "el": GREEK,
    "vi": VIETNAMESE,
}
