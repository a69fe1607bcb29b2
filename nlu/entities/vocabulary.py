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
    last_modifier: str = ""  # before a weekday: "last Monday" (the most recent one before today)
    last_after: str = ""  # after a weekday: Vietnamese "thứ hai trước"
    last_week: str = ""  # on its own, or after a weekday ("Monday last week")
    next_week: str = ""  # on its own, or after a weekday ("Monday next week")
    this_week: str = ""
    week_after_next: str = ""  # the Monday–Friday two weeks on
    range_to: str = ""  # between the two ends of a range
    between: str = ""  # "between A and B"
    between_and: str = ""  # also joins two consecutive days: "today and tomorrow"
    suffix: str = ""  # case endings glued to a date (Uzbek/Azerbaijani -dan, -gacha)
    from_suffix: str = ""
    to_suffix: str = ""
    until_before: str = ""  # makes a lone date an end: "until Friday", "по пятницу", "μέχρι την Παρασκευή"
    until_after: str = ""  # the same after the date: Azerbaijani "cüməyə qədər"
    until_suffix: str = ""  # the same ending a case suffix glued to the date: Uzbek "jumagacha"
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
    next_month: str = ""
    months_ago: str = ""  # "2 months ago"; without a number it means two ("позапрошлый месяц")
    month_context: str = ""  # after an ambiguous month word: "may oyi", "march payslip"
    month_prefix: str = ""  # "for October", "за октябрь"
    month_numeric: str = ""  # "tháng 10": a month given as a number
    year_word: str = ""  # after a year number: "2026 г.", "năm 2026"
    time_cue: str = ""  # "at 5", "lúc 5"
    reminder_words: str = ""  # let a weak cue ("в 10") mean a time
    time_in: str = ""  # "in 10 minutes", "через час"
    time_later: str = ""  # "10 daqiqadan keyin", "10 phút nữa"
    minute_unit: str = ""
    hour_unit: str = ""
    half_an_hour: str = ""
    noon: str = ""
    weak_time_cue: str = ""  # needs minutes or an hour word after it (Russian "в")
    hour_word: str = ""
    minute_word: str = ""
    half_hour: str = ""
    morning: str = ""
    evening: str = ""  # afternoon/evening/pm
    day_part_morning: str = ""  # more words for a part of the day, not after an hour: "this morning"
    day_part_evening: str = ""
    time_suffix: str = ""  # "17:00 da"
    clock_suffix: str = ""  # makes a bare number a time without a cue word: "5pm", "5 вечера"
    ticket_words: str = ""
    request_words: str = ""
    number_words: str = ""  # "number", "№", "no."
    movement_words: str = ""  # stock movements: received, issued...
    counters: str = ""  # "pcs", "шт", "ta"
    place_words: str = ""  # a number after them is a room, not a quantity: "room 1" (not stores: "склад 5 шт")
    stock_words: str = ""  # "low" next to them is a stock level, not a priority
    half_day_half: str = ""  # half_day entity: "half day"
    half_day_morning: str = ""  # "до обеда", "buổi sáng"
    half_day_afternoon: str = ""  # "после обеда", "buổi chiều"
    alone_time_cue: str = ""  # a weak cue that makes a time when the message is only "в 10"


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
    last_modifier=r"last|the\s+last|past|the\s+past|previous|the\s+previous",
    last_week=r"last\s+(?:week|wk)|(?:the\s+)?previous\s+week|the\s+week\s+before",
    next_week=r"(?:the\s+)?(?:next|following|nxt)\s+(?:week|wk)",
    this_week=r"this\s+(?:week|wk)",
    week_after_next=r"(?:the\s+)?week\s+after\s+(?:the\s+)?next(?:\s+one)?",
    range_to=r"-|to|till|until|til|through|thru",
    between=r"between",
    between_and=r"and",
    until_before=r"until|till|til|to|up\s+to|through|thru|up\s+until|up\s+till",
    day_ordinal=r"st|nd|rd|th",
    day_prefix=r"the|on\s+the",
    day_unit=r"days?|working\s+days?|business\s+days?",
    week_unit=r"weeks?",
    offsets_before=r"in|in\s+a|after",
    offsets_after=r"from\s+now|later",
    duration_before=r"for",
    last_month=r"last\s+month|(?:the\s+)?previous\s+month|past\s+month",
    this_month=r"this\s+month|current\s+month",
    next_month=r"next\s+month",
    months_ago=r"(?:\d{1,2}|two|three|four|five|six)\s+months?\s+ago",
    month_context=r"pay\s*slips?|payslips?|salary|wages?|pay|paycheck",
    month_prefix=r"for|in|of|since|from",
    time_cue=r"at|by|@",
    reminder_words=r"remind\w*|ping|nudge|alert",
    time_in=r"in|after",
    minute_unit=r"minutes?|mins?",
    hour_unit=r"hours?|hrs?|h",
    half_an_hour=r"half\s+an\s+hour",
    noon=r"noon|midday|lunchtime",
    hour_word=r"o'?clock|h",
    morning=r"am|a\.m\.?|in\s+the\s+morning",
    evening=r"pm|p\.m\.?|in\s+the\s+(?:afternoon|evening)|tonight",
    day_part_morning=r"(?<!good\s)morning",
    day_part_evening=r"(?<!good\s)(?:afternoon|evening)|this\s+(?:afternoon|evening)",
    clock_suffix=r"am|a\.m\.?|pm|p\.m\.?",
    ticket_words=r"tickets?|tiket\w*|τικετ\w*|tkt|incidents?|issue|case",
    request_words=r"requests?|req",
    number_words=r"number|no\.?|nr\.?|#|№",
    movement_words=(
        r"received|receive|got|took|taken|issued|issue|gave|given|added|add|used|ordered|bought|delivered|"
        r"arrived|sent|write\s+off|wrote\s+off|remove|removed|returned|dispatched|handed\s+out|stock\s+in|stock\s+out"
    ),
    counters=r"pcs|pieces?|units?|x|packs?|boxes|box|rolls?|reams?|sets?|bottles?|packets?",
    place_words=r"rooms?|office|floor|level|desk|building|cabinet|locker",
    stock_words=r"stock|stocks|supplies|supply|inventory|running|run|getting|levels?|items?|left",
    half_day_half=r"half\s*-?\s*(?:a\s+)?day|half\s+of\s+the\s+day",
    # a bare "morning" too (the answer to "which half?"), but not in a greeting
    half_day_morning=(
        r"(?:in\s+the\s+|the\s+|this\s+)?(?<!good\s)morning(?:\s+off)?|first\s+half\s+of\s+the\s+day|"
        r"until\s+(?:noon|lunch)|before\s+lunch"
    ),
    half_day_afternoon=(
        r"(?:in\s+the\s+|the\s+|this\s+)?(?<!good\s)afternoon(?:\s+off)?|second\s+half\s+of\s+the\s+day|"
        r"after\s+lunch|from\s+noon"
    ),
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
    last_modifier=r"прошл\w*|предыдущ\w*",
    last_week=r"(?:на\s+)?(?:прошл|предыдущ)\w*\s+недел\w*",
    next_week=r"(?:на\s+)?следующ\w*\s+недел\w*|(?:на\s+)?след\.?\s+недел\w*",
    this_week=r"(?:на\s+)?эт\w*\s+недел\w*",
    week_after_next=r"(?:на\s+)?(?:недел[еюя]|неделе)\s+после\s+следующ\w*|(?:на\s+)?послеследующ\w*\s+недел\w*",
    range_to=r"-|по|до|и\s+по",
    between=r"между",
    between_and=r"и",
    until_before=r"по|до|вплоть\s+до",
    day_ordinal=r"-?го|-?е",
    day_prefix=r"",
    day_unit=r"дн\w*|день|рабочих\s+дн\w*",
    week_unit=r"недел\w*",
    offsets_before=r"через",
    offsets_after=r"спустя",
    duration_before=r"на",
    last_month=r"(?:за\s+)?(?:прошл|предыдущ|последн)\w*\s+месяц\w*",
    this_month=r"(?:за\s+)?(?:эт\w*|текущ\w*)\s+месяц\w*",
    next_month=r"(?:в\s+)?следующ\w*\s+месяц\w*",
    months_ago=r"позапрошл\w*\s+месяц\w*|\d{1,2}\s+месяц\w*\s+назад",
    month_context=r"зарплат\w*|расчет\w*|расчетк\w*",
    month_prefix=r"за|в|на",
    year_word=r"г\.?|года|год",
    time_cue=r"",
    weak_time_cue=r"в|во|к|на",
    reminder_words=r"напомн\w*|напоминани\w*",
    time_in=r"через",
    minute_unit=r"минут\w*|мин",
    hour_unit=r"час\w*",
    half_an_hour=r"полчаса",
    noon=r"полдень|в\s+обед",
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
    place_words=r"комнат\w*|кабинет\w*|офис\w*|этаж\w*|каб\.?|ком\.?",
    stock_words=r"остат\w*|запас\w*|склад\w*|наличи\w*",
    half_day_half=r"полдня|пол\s*-?\s*дня|половин\w+\s+дня",
    half_day_morning=r"до\s+обеда|первую\s+половину\s+дня|первая\s+половина\s+дня",
    half_day_afternoon=r"после\s+обеда|вторую\s+половину\s+дня|вторая\s+половина\s+дня|с\s+обеда",
    alone_time_cue=r"в|во|к",
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
        2: r"indinga|indin|ertadan\s+keyin|poslezavtra",
        1: r"erta(?=dan|gacha)|ertaga|ertangi|zavtra",  # Russian words typed in Latin letters are common
        0: r"bugun|segodnya|sevodnya",
        -1: r"kecha",
    },
    next_modifier=r"keyingi|kelasi|kelgusi",
    this_modifier=r"shu|bu",
    last_modifier=r"o'?tgan|oldingi",
    last_week=r"o'?tgan\s+hafta\w*|oldingi\s+hafta\w*",
    next_week=r"(?:keyingi|kelasi|kelgusi)\s+hafta\w*",
    this_week=r"(?:shu|bu)\s+hafta\w*",
    week_after_next=r"(?:keyingi|kelasi|kelgusi)\s+haftadan\s+keyingi\s+hafta\w*",
    range_to=r"-|gacha|dan",
    between_and=r"va",
    suffix=r"-?[a-z']{1,9}(?:\s+kun(?:i|idan|igacha|lari))?|\s+kun(?:i|idan|igacha)",
    from_suffix=r"dan",
    to_suffix=r"gacha|cha|dek",
    until_after=r"qadar|gacha",
    until_suffix=r"gacha",
    day_ordinal=r"-?(?:chi|inchi|nchi)",
    day_unit=r"kun\w*|ish\s+kun\w*",
    week_unit=r"hafta\w*",
    offsets_after=r"keyin|so'ng|o'tib",
    duration_after=r"",
    last_month=r"o'?tgan\s+oy\w*|oldingi\s+oy\w*|avvalgi\s+oy\w*",
    this_month=r"(?:shu|bu|joriy)\s+oy\w*",
    next_month=r"(?:kelasi|keyingi|kelgusi)\s+oy\w*",
    months_ago=r"(?:\d{1,2}|ikki|uch)\s+oy\s+(?:oldin|avval)\w*",
    month_context=r"oy\w*|maosh\w*|oylik\w*",
    month_prefix=r"",
    year_word=r"yil\w*",
    time_cue=r"soat",
    reminder_words=r"eslat\w*",
    time_later=r"keyin|so'ng",
    minute_unit=r"daqiqa\w*|minut\w*",
    hour_unit=r"soat\w*",
    half_an_hour=r"yarim\s+soat\w*",
    noon=r"tushda|tush\s+payti",
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
    counters=r"ta|dona|quti|pachka|to'plam|rulon|karobka",
    place_words=r"xona\w*|ofis\w*|kabinet\w*|qavat\w*",
    stock_words=r"zaxira\w*|qoldiq\w*|ombor\w*",
    half_day_half=r"yarim\s+kun\w*|kunning\s+yarmi\w*",
    half_day_morning=r"tushgacha|tushlikkacha|kunning\s+birinchi\s+yarmi\w*",
    half_day_afternoon=r"tushdan\s+keyin|tushlikdan\s+keyin|kunning\s+ikkinchi\s+yarmi\w*",
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
        1: r"sabah|zavtra",  # Russian words typed in Latin letters are common
        0: r"bu\s+gün|bugün|segodnya|sevodnya",
        -1: r"dünən",
    },
    next_modifier=r"gələn|növbəti|sonrakı",
    this_modifier=r"bu",
    last_modifier=r"keçən|ötən|əvvəlki",
    last_week=r"(?:keçən|ötən|əvvəlki)\s+həftə\w*",
    next_week=r"(?:gələn|növbəti|sonrakı)\s+həftə\w*",
    this_week=r"bu\s+həftə\w*",
    week_after_next=r"(?:gələn|növbəti)\s+həftədən\s+sonrakı\s+həftə\w*",
    range_to=r"-|qədər|dək|kimi|dan|dən",
    between_and=r"və",
    suffix=r"-?[a-z]{1,9}(?:\s+gün\w*)?|\s+gün\w*",
    from_suffix=r"dan|dən",
    to_suffix=r"dək|nadək|yədək|yadək|adək|ədək|a|ə|ya|yə|na|nə",
    until_after=r"qədər|dək|kimi",
    until_suffix=r"dək",
    day_ordinal=r"-?(?:ci|cı|cu|cü|nci|ncı|ncu|ncü|inci|ıncı|uncu|üncü)",
    day_unit=r"gün\w*|iş\s+gün\w*",
    week_unit=r"həftə\w*",
    offsets_after=r"sonra",
    last_month=r"(?:keçən|ötən|əvvəlki)\s+ay\w*",
    this_month=r"(?:bu|cari)\s+ay\w*",
    next_month=r"(?:gələn|növbəti)\s+ay\w*",
    months_ago=r"(?:\d{1,2}|iki|üç)\s+ay\s+(?:əvvəl|öncə)",
    month_context=r"ay\w*|maaş\w*|əmək",
    month_prefix=r"",
    year_word=r"il\w*",
    time_cue=r"saat",
    reminder_words=r"xatırlat\w*",
    time_later=r"sonra",
    minute_unit=r"dəqiqə\w*",
    hour_unit=r"saat\w*",
    half_an_hour=r"yarım\s+saat\w*",
    noon=r"günorta",
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
    counters=r"ədəd|dənə|qutu|paket|dəst|rulon",
    place_words=r"otaq\w*|ofis\w*|kabinet\w*|mərtəbə\w*",
    stock_words=r"ehtiyat\w*|qalıq\w*|anbar\w*",
    half_day_half=r"yarım\s+gün\w*|günün\s+yarısı\w*",
    half_day_morning=r"günortaya\s+qədər|günün\s+birinci\s+yarısı\w*",
    half_day_afternoon=r"günortadan\s+sonra|nahardan\s+sonra|günün\s+ikinci\s+yarısı\w*",
)

GREEK = LanguageWords(
    months=(
        r"ιανουαρ(?:ιος|ιου|ιο|η)|ιαν|ianouari(?:os|ou|o)",
        r"φεβρουαρ(?:ιος|ιου|ιο|η)|φλεβαρη|φεβ|fevrouari(?:os|ou|o)|febrouari(?:os|ou|o)",
        r"μαρτ(?:ιος|ιου|ιο|η)|μαρ|marti(?:os|ou|o)",
        r"απριλ(?:ιος|ιου|ιο|η)|απρ|aprili(?:os|ou|o)",
        r"μαι(?:ος|ου|ο)|μαη|mai(?:os|ou|o)",
        r"ιουν(?:ιος|ιου|ιο|η)|ιουν|iouni(?:os|ou|o)",
        r"ιουλ(?:ιος|ιου|ιο|η)|ιουλ|iouli(?:os|ou|o)",
        r"αυγουστ(?:ος|ου|ο)|αυγ|avgoust(?:os|ou|o)|augoust(?:os|ou|o)",
        r"σεπτεμβρ(?:ιος|ιου|ιο|η)|σεπ|septemvri(?:os|ou|o)|septemvr",
        r"οκτωβρ(?:ιος|ιου|ιο|η)|οκτ|oktovri(?:os|ou|o)|oktwvri(?:os|ou|o)",
        r"νοεμβρ(?:ιος|ιου|ιο|η)|νοε|noemvri(?:os|ou|o)",
        r"δεκεμβρ(?:ιος|ιου|ιο|η)|δεκ|dekemvri(?:os|ou|o)",
    ),
    ambiguous_months=r"μαρ|σεπ",
    weekdays=(
        r"δευτερα[σ]?|δευ|deuteras?|defteras?|dheftera",
        r"τριτη[σ]?|τρι|tritis?",
        r"τεταρτη[σ]?|τετ|tetartis?",
        r"πεμπτη[σ]?|πεμ|pemptis?",
        r"παρασκευη[σ]?|παρ|paraskevis?|paraskeuis?",
        r"σαββατο[υ]?|σαβ|savvato|sabbato|savato",
        r"κυριακη[σ]?|κυρ|kyriakis?|kiriakis?",
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
    last_modifier=(
        r"(?:την\s+|τη\s+|το\s+)?(?:προ[ηιυ]γουμεν[ηο]|περασμεν[ηο])|(?:tin\s+|ti\s+)?(?:proigoumeni|perasmeni)"
    ),
    last_week=(
        r"(?:την\s+|τη\s+)?(?:προ[ηιυ]γουμενη|περασμενη)\s+(?:ε)?βδομαδα|(?:tin\s+)?(?:proigoumeni|perasmeni)\s+(?:e)?vdomada"
    ),
    next_week=(
        r"(?:την\s+|τη\s+)?(?:επομενη|αλλη|ερχομενη)\s+(?:ε)?βδομαδα|(?:tin\s+)?(?:epomeni|alli)\s+(?:e)?vdomada"
    ),
    this_week=r"(?:αυτη\s+την|αυτη\s+τη|την\s+τρεχουσα)\s+(?:ε)?βδομαδα|afti\s+tin\s+(?:e)?vdomada",
    week_after_next=r"(?:την\s+|τη\s+)?μεθεπομεν\w*\s+(?:ε)?βδομαδα|(?:tin\s+|ti\s+)?methepomeni\s+(?:e)?vdomada",
    range_to=r"-|(?:εως|ως|μεχρι|eos|ews|mexri|os)(?:\s+(?:και|kai))?(?:\s+(?:τις|την|τη|το|tis|tin))?",
    between=r"μεταξυ",
    between_and=r"και",
    until_before=r"(?:εως|ως|μεχρι|eos|ews|mexri)(?:\s+(?:και|kai))?(?:\s+(?:τις|την|τη|το|tis|tin|ti))?",
    day_prefix=r"",
    day_unit=r"(?:η)?μερ\w*|meres|imeres",
    week_unit=r"(?:ε)?βδομαδ\w*|evdomad\w*",
    offsets_before=r"σε|meta\s+apo|μετα\s+απο|se",
    duration_before=r"για|gia",
    last_month=(
        r"(?:τον\s+|το\s+|του\s+)?(?:προ[ηιυ]γουμεν|περασμεν)\w*\s+μην\w*|(?:ton\s+|to\s+|tou\s+)?(?:proigoumen|perasmen)\w*\s+m[ih]n\w*"
    ),
    this_month=r"(?:αυτο\s+τον|αυτον\s+τον|αυτο\s+το|τον\s+τρεχοντα|τρεχοντα)\s+μην\w*|(?:afto\s+ton)\s+mina",
    next_month=r"(?:τον\s+)?(?:επομενο|αλλο)\s+μην\w*",
    months_ago=r"(?:πριν\s+(?:\d{1,2}|δυο|δυο|τρεις)\s+μην\w*)",
    month_context=r"μισθ\w*|εκκαθαριστικ\w*",
    month_prefix=r"για|τον|του|gia|ton|tou",
    time_cue=r"στις|στη|stis|sti",
    reminder_words=r"υπενθυμ\w*|θυμισε\w*|thymise\w*|ypenthym\w*",
    time_in=r"σε|se|μετα\s+απο",
    minute_unit=r"λεπτ\w*|lepta",
    hour_unit=r"ωρ\w*|ores|ora",
    half_an_hour=r"μιση\s+ωρα|misi\s+ora",
    noon=r"μεσημερι",
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
    place_words=r"δωματι\w*|γραφει\w*|οροφ\w*|αιθουσ\w*",
    stock_words=r"αποθεμ\w*|αποθηκ\w*|αποθεματ\w*",
    half_day_half=r"μιση\s+(?:η)?μερα|misi\s+mera",
    half_day_morning=r"το\s+πρωι|πριν\s+το\s+μεσημερι|to\s+proi",
    half_day_afternoon=r"το\s+απογευμα|μετα\s+το\s+μεσημερι|to\s+apogeuma",
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
    last_after=r"trước(?!\s+(?:khi|đó|kia|mặt|hết|tiên))|vừa\s+rồi|vừa\s+qua",
    last_week=r"tuần\s+trước|tuần\s+rồi|tuần\s+vừa\s+rồi",
    next_week=r"tuần\s+sau|tuần\s+tới",
    this_week=r"tuần\s+này",
    week_after_next=r"tuần\s+sau\s+nữa|tuần\s+sau\s+của\s+tuần\s+sau",
    range_to=r"-|(?:đến|tới)(?:\s+hết)?(?:\s+ngày)?",
    between_and=r"và",
    until_before=r"(?:cho\s+)?(?:đến|tới)(?:\s+hết)?(?:\s+ngày)?",
    day_prefix=r"ngày|mùng|mồng",
    day_unit=r"ngày",
    week_unit=r"tuần",
    offsets_before=r"sau",
    offsets_after=r"nữa|sau",
    last_month=r"tháng\s+trước|tháng\s+rồi|tháng\s+vừa\s+rồi",
    this_month=r"tháng\s+này",
    next_month=r"tháng\s+(?:sau|tới)",
    months_ago=r"\d{1,2}\s+tháng\s+trước",
    month_prefix=r"",
    month_numeric=r"tháng",
    year_word=r"năm",
    time_cue=r"lúc|vào\s+lúc|vào",
    reminder_words=r"nhắc\w*",
    time_in=r"sau|trong",
    time_later=r"nữa|sau",
    minute_unit=r"phút",
    hour_unit=r"tiếng|giờ",
    half_an_hour=r"nửa\s+tiếng",
    noon=r"buổi\s+trưa|trưa\s+nay",
    hour_word=r"giờ|h",
    minute_word=r"phút",
    half_hour=r"rưỡi",
    morning=r"sáng",
    evening=r"chiều|tối|trưa",
    ticket_words=r"ticket|(?:yêu\s+cầu|yc)(?:\s+hỗ\s+trợ)?|phiếu|sự\s+cố",
    request_words=r"đơn",
    number_words=r"số|#|№",
    movement_words=r"nhận|nhập|xuất|lấy|cấp|thêm|đã\s+nhận|giao|trả",
    counters=r"cái|chiếc|hộp|cuộn|ram|bộ|gói|chai|cây|tờ|quyển",
    place_words=r"phòng|tầng|văn\s+phòng",
    stock_words=r"tồn\s+kho|tồn|kho|hàng",
    half_day_half=r"nửa\s+ngày|nửa\s+buổi",
    half_day_morning=r"(?<!chào\s)buổi\s+sáng|sáng\s+(?:mai|nay|thứ|chủ\s+nhật)",
    half_day_afternoon=r"buổi\s+chiều|chiều\s+(?:mai|nay|thứ|chủ\s+nhật)",
)

WORDS: dict[str, LanguageWords] = {
    "en": ENGLISH,
    "ru": RUSSIAN,
    "uz": UZBEK,
    "az": AZERBAIJANI,
    "el": GREEK,
    "vi": VIETNAMESE,
}
