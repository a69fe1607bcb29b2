"""Built-in synonyms so the extractor works before any training data exists; data synonyms extend them."""

from __future__ import annotations

DEFAULT_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "leave_type": {
        "annual": [
            # en
            # Generic words ("leave", "time off", "day off", "отгул", "άδεια", "nghỉ", "dam olish") are left out on
            # purpose: they give no leave_type, so the assistant asks which type. The everyday words for going on
            # leave (отпуск, ta'til, məzuniyyət, nghỉ phép) mean annual leave; a specific type beside them wins.
            "annual leave", "vacation", "vacations", "holiday", "holidays", "paid leave", "pto", "annual",
            # ru
            "отпуск", "ежегодный отпуск", "оплачиваемый отпуск", "отпуска", "отпуске",
            # uz
            "ta'til", "ta'tilga", "mehnat ta'tili", "yillik ta'til", "otpusk",
            # az
            "məzuniyyət", "məzuniyyətə", "illik məzuniyyət", "tətil",
            # el
            "κανονική άδεια", "ετήσια άδεια", "διακοπές", "kanoniki adeia", "diakopes",
            # vi
            "nghỉ phép", "phép năm", "nghỉ phép năm", "nghỉ mát",
        ],
        "sick": [
            "sick leave", "sick", "sick day", "ill", "unwell", "medical leave",
            "больничный", "больничного", "больничном", "болею", "заболел", "заболела", "болен", "больна",
            "kasal", "kasallik", "kasalman", "kasallik varaqasi", "betob", "bolnichniy", "bolnichni",
            "xəstəlik", "xəstəyəm", "xəstə", "xəstəlik vərəqəsi", "bülleten",
            "άδεια ασθενείας", "αναρρωτική", "άρρωστος", "άρρωστη", "ασθένεια", "arrostos", "arrosti",
            "nghỉ ốm", "bị ốm", "ốm", "nghỉ bệnh", "bị bệnh", "nghi om", "bi om",
        ],
        "unpaid": [
            "unpaid leave", "unpaid", "leave without pay", "without pay",
            "за свой счет", "за свой счёт", "без сохранения зарплаты", "без содержания", "неоплачиваемый отпуск",
            "o'z hisobidan", "maoshsiz", "ish haqisiz", "haq to'lanmaydigan",
            "ödənişsiz", "öz hesabına", "maaşsız", "ödənişsiz məzuniyyət",
            "άνευ αποδοχών", "άδεια άνευ αποδοχών", "χωρίς αποδοχές", "aneu apodoxon",
            "không lương", "nghỉ không lương", "khong luong",
        ],
        "parental": [
            "parental leave", "maternity leave", "paternity leave", "maternity", "paternity",
            "декрет", "декретный отпуск", "отпуск по уходу за ребенком", "по уходу за ребенком",
            "dekret", "dekret ta'tili", "bola parvarishi", "tug'ruq ta'tili",
            "analıq məzuniyyəti", "uşağa qulluq", "atalıq məzuniyyəti",
            "γονική άδεια", "άδεια μητρότητας", "άδεια πατρότητας", "μητρότητας", "πατρότητας",
            "thai sản", "nghỉ thai sản", "nghỉ chăm con",
        ],
        "study": [
            "study leave", "exam leave", "educational leave", "exams",
            "учебный отпуск", "учебный", "учебного", "на учебу", "сессия", "сессию",
            "o'quv ta'tili", "o'qish", "imtihon", "o'quv",
            "təhsil məzuniyyəti", "tədris məzuniyyəti", "imtahan", "təhsil",
            "εκπαιδευτική άδεια", "άδεια σπουδών", "εξεταστική", "άδεια εξετάσεων",
            "nghỉ học", "nghỉ thi", "học tập",
        ],
    },
    "priority": {
        "low": [
            "low priority", "low prio", "not urgent", "no rush",
            "не срочно", "несрочно", "низкий приоритет", "не горит",
            "shoshilinch emas", "past ustuvorlik",
            "təcili deyil", "aşağı prioritet",
            "όχι επείγον", "χαμηλή προτεραιότητα", "xamili",
            "không gấp", "ưu tiên thấp", "khong gap",
        ],
        "normal": [
            "normal priority", "medium priority", "normal prio",
            "обычный приоритет", "средний приоритет", "обычная",
            "oddiy", "o'rtacha",
            "normal prioritet", "orta prioritet",
            "κανονική προτεραιότητα", "μέτρια",
            "bình thường", "ưu tiên trung bình",
        ],
        "high": [
            "high priority", "high prio", "urgent", "urgently", "asap", "important",
            "срочно", "срочная", "срочный", "высокий приоритет", "важно",
            "shoshilinch", "tezkor", "muhim", "zudlik bilan",
            "təcili", "vacib", "yüksək prioritet",
            "επείγον", "επειγόντως", "υψηλή προτεραιότητα", "σημαντικό", "epeigon",
            "gấp", "khẩn", "ưu tiên cao", "rất gấp",
        ],
        "critical": [
            "critical", "blocker", "emergency", "everything is down", "production down",
            "критично", "критический", "критическая", "авария", "всё упало", "все упало",
            "kritik", "favqulodda",
            "kritik", "təcili vəziyyət", "qəza",
            "κρίσιμο", "κρίσιμη", "έκτακτη ανάγκη", "kritimo",
            "nghiêm trọng", "khẩn cấp",
        ],
    },
    "decision": {
        "approve": [
            "approve", "approved", "approving", "accept", "accepted",
            "одобрить", "одобряю", "одобрено", "одобрена", "одобри", "согласовать", "согласую", "утвердить",
            "утверждаю", "подтверждаю",
            "tasdiqlash", "tasdiqlayman", "tasdiqla", "tasdiqlandi", "ma'qullayman", "ruxsat beraman",
            "təsdiqlə", "təsdiq et", "təsdiqləyirəm", "təsdiq edirəm", "təsdiq",
            "εγκρίνω", "έγκριση", "εγκρίνεται", "εγκρίθηκε", "ενέκρινα", "egkrino", "egkrisi",
            "duyệt", "phê duyệt", "chấp thuận", "đồng ý duyệt", "duyet", "phe duyet",
        ],
        "reject": [
            "reject", "rejected", "decline", "declined", "deny", "denied", "refuse",
            "отклонить", "отклоняю", "отклонено", "отклонена", "отклони", "отказать", "отказываю",
            "rad etish", "rad etaman", "rad et", "rad etildi", "rad qilaman",
            "rədd et", "rədd edirəm", "rədd", "imtina",
            "απορρίπτω", "απόρριψη", "απορρίπτεται", "απορρίφθηκε", "aporripto", "aporripsi",
            "từ chối", "không duyệt", "bác bỏ", "tu choi", "khong duyet",
        ],
    },
    "ticket_status": {
        "in_progress": [
            "in progress", "working on it",
            "в работе", "взял в работу", "в процессе",
            "jarayonda", "ishlanmoqda", "ish olib borilmoqda",
            "icra olunur", "işlənir", "prosesdə", "üzərində işləyirəm",
            "σε εξέλιξη", "σε επεξεργασία", "se exelixi",
            "đang xử lý", "đang làm", "dang xu ly",
        ],
        "waiting_on_user": [
            "waiting on user", "waiting for user", "waiting for reply", "waiting for the user", "pending user",
            "ждём пользователя", "ждем пользователя", "ожидает пользователя", "жду ответа", "ожидание ответа",
            "foydalanuvchini kutmoqda", "javob kutilmoqda", "javob kutyapman",
            "istifadəçini gözləyir", "cavab gözlənilir", "cavab gözləyirəm",
            "σε αναμονή χρήστη", "αναμονή χρήστη", "αναμένεται απάντηση", "perimenoume apantisi",
            "chờ người dùng", "chờ phản hồi", "cho phan hoi",
        ],
        "resolved": [
            "resolved", "fixed", "solved",
            "решено", "решена", "решён", "решен", "исправлено", "исправлена", "починили", "готово",
            "hal qilindi", "tuzatildi", "hal bo'ldi", "bajarildi",
            "həll olundu", "həll edildi", "düzəldildi", "hazırdır",
            "επιλύθηκε", "λύθηκε", "διορθώθηκε", "ολοκληρώθηκε", "lythike",
            "đã giải quyết", "đã xử lý", "đã sửa", "da xu ly", "da sua",
        ],
        "closed": [
            "closed", "close it", "close the ticket",
            "закрыто", "закрыта", "закрыт", "закрыть", "закрой",
            "yopildi", "yopilgan", "yopish", "yop",
            "bağlandı", "bağlı", "bağla", "bağlamaq",
            "έκλεισε", "κλειστό", "κλείσιμο", "κλείσε", "ekleise",
            "đã đóng", "đóng", "da dong",
        ],
    },
}

# Canonical stock names from nlu/data/README.md; `EntityExtractor.set_catalogue` replaces them at run time.
DEFAULT_CATALOGUE: tuple[str, ...] = (
    "A4 paper", "A3 paper", "HDMI cable", "USB-C cable", "Ethernet cable", "USB-C charger", "Laptop charger",
    "Wireless mouse", "Keyboard", "Monitor", "Headset", "Webcam", "Ballpoint pen", "Pencil", "Stapler", "Staples",
    "Paper clips", "Sticky notes", "Notebook", "Whiteboard marker", "Highlighter", "Envelope", "Folder", "Binder",
    "Scissors", "Adhesive tape", "Printer toner", "Ink cartridge", "AA battery", "AAA battery", "USB flash drive",
    "Power strip", "Desk lamp", "Coffee", "Tea", "Sugar", "Paper cups", "Water bottle", "Hand sanitizer",
    "First aid kit", "Trash bags", "Tissues", "Calculator", "Laptop stand", "Mouse pad",
)

# A catalogue name's last word also names the item when no other item shares it ("toner" → Printer toner),
# except for words that are too common on their own.
HEAD_WORD_EXCLUSIONS = frozenset({"stand", "strip", "drive", "kit", "notes", "bags", "pad", "lamp", "bottle", "cups"})
