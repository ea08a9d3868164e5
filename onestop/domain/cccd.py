"""Citizen ID numbers (CCCD / số định danh cá nhân) and the QR code on the chip card.

What can actually be checked (REFERENCE §6; Luật Căn cước 2023 Art. 12, TT 07/2016/TT-BCA):

=========  ==============================================================================
digits     meaning
=========  ==============================================================================
1-3        place of birth registration: ``0`` + one of the 63 *pre-2025* province codes
           (Phụ lục I), or a country code when the birth was registered abroad (Phụ lục II)
4          G: sex and century. Female if G is odd; century = (G // 2 + 19) * 100
5-6        last two digits of the birth year
7-12       random; there is **no check digit**, so a typo here cannot be detected
=========  ==============================================================================

Province prefixes are decoded with the *old* 63-province table on purpose: the prefix records
where the birth was registered at the time and is never re-issued. The 34 post-2025 codes are a
subset of the old ones, so the old table also accepts every new number, but a reused code may name
a different province today (15 was Yên Bái, now Lào Cai) — which is why ``place_name`` is the old
name.

Country codes: not ISO 3166-1 numeric. TT 07/2016 Phụ lục II numbers countries 101-295 in
Vietnamese alphabetical order (101 Afghanistan, 102 Ai Cập, ... 175 Hoa Kỳ, ... 295 Zimbabwe).
The table below follows the transcription in ``hongquan/vietnam-personal-id:src/countries.json``
[P/S]. That source lists 113/114 both as Azerbaijan and 147/148 both as Croatia; we keep those
codes valid rather than reject a real citizen's number on a transcription doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from onestop.domain.text import clean_text, nfc, search_key
from onestop.i18n import t

__all__ = [
    "COUNTRY_CODES",
    "PROVINCE_CODES_PRE_2025",
    "CccdError",
    "CccdInfo",
    "ChipQr",
    "Sex",
    "normalize_sex",
    "parse_cccd",
    "parse_chip_qr",
    "validate_cccd",
]

Sex = Literal["nam", "nữ"]

# TT 07/2016/TT-BCA Phụ lục I: 2-digit province codes of the 63 provinces before 1/7/2025.
PROVINCE_CODES_PRE_2025: dict[str, str] = {
    "01": "Hà Nội",
    "02": "Hà Giang",
    "04": "Cao Bằng",
    "06": "Bắc Kạn",
    "08": "Tuyên Quang",
    "10": "Lào Cai",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Yên Bái",
    "17": "Hòa Bình",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Giang",
    "25": "Phú Thọ",
    "26": "Vĩnh Phúc",
    "27": "Bắc Ninh",
    "30": "Hải Dương",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "34": "Thái Bình",
    "35": "Hà Nam",
    "36": "Nam Định",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Bình",
    "45": "Quảng Trị",
    "46": "Thừa Thiên Huế",
    "48": "Đà Nẵng",
    "49": "Quảng Nam",
    "51": "Quảng Ngãi",
    "52": "Bình Định",
    "54": "Phú Yên",
    "56": "Khánh Hòa",
    "58": "Ninh Thuận",
    "60": "Bình Thuận",
    "62": "Kon Tum",
    "64": "Gia Lai",
    "66": "Đắk Lắk",
    "67": "Đắk Nông",
    "68": "Lâm Đồng",
    "70": "Bình Phước",
    "72": "Tây Ninh",
    "74": "Bình Dương",
    "75": "Đồng Nai",
    "77": "Bà Rịa - Vũng Tàu",
    "79": "Hồ Chí Minh",
    "80": "Long An",
    "82": "Tiền Giang",
    "83": "Bến Tre",
    "84": "Trà Vinh",
    "86": "Vĩnh Long",
    "87": "Đồng Tháp",
    "89": "An Giang",
    "91": "Kiên Giang",
    "92": "Cần Thơ",
    "93": "Hậu Giang",
    "94": "Sóc Trăng",
    "95": "Bạc Liêu",
    "96": "Cà Mau",
}

# TT 07/2016/TT-BCA Phụ lục II as transcribed by hongquan/vietnam-personal-id: code, ISO alpha-2
# (to map to other systems), Vietnamese short name. Kept as a text table so it reads like the annex.
_COUNTRY_TABLE = """
101 AF Afghanistan
102 EG Ai Cập
103 AL Albania
104 DZ Algeria
105 AD Andorra
106 AO Angola
107 GB Anh
108 AG Antigua và Barbuda
109 AT Áo
110 SA Ả Rập Xê Út
111 AR Argentina
112 AM Armenia
113 AZ Azerbaijan
114 AZ Azerbaijan
115 IN Ấn Độ
116 BS Bahamas
117 BH Bahrain
118 PL Ba Lan
119 BD Bangladesh
120 BB Barbados
121 BY Belarus
122 BZ Belize
123 BJ Bénin
124 BT Bhutan
125 BE Bỉ
126 BO Bolivia
127 BA Bosnia và Herzegovina
128 BW Botswana
129 PT Bồ Đào Nha
130 CI Bờ Biển Ngà
131 BR Brazil
132 BN Brunei
133 BG Bulgaria
134 BF Burkina Faso
135 BI Burundi
136 CV Cabo Verde
137 AE Các Tiểu vương quốc Ả Rập Thống nhất
138 CM Cameroon
139 KH Campuchia
140 CA Canada
141 CL Chile
142 CO Colombia
143 KM Comoros
144 CG Congo
145 CD Cộng hòa Dân chủ Congo
146 CR Costa Rica
147 HR Croatia
148 HR Croatia
149 CU Cuba
150 DJ Djibouti
151 DM Dominica
152 DO Cộng hòa Dominica
153 DK Đan Mạch
154 TL Đông Timor
155 DE Đức
156 EC Ecuador
157 SV El Salvador
158 ER Eritrea
159 EE Estonia
160 ET Ethiopia
161 FJ Fiji
162 GA Gabon
163 GM Gambia
164 GH Ghana
165 GD Grenada
166 GE Gruzia
167 GT Guatemala
168 GW Guinea-Bissau
169 GQ Guinea Xích Đạo
170 GN Guinea
171 GY Guyana
172 HT Haiti
173 NL Hà Lan
174 KR Hàn Quốc
175 US Hoa Kỳ
176 HN Honduras
177 HU Hungary
178 GR Hy Lạp
179 IS Iceland
180 ID Indonesia
181 IR Iran
182 IQ Iraq
183 IE Ireland
184 IL Israel
185 JM Jamaica
186 JO Jordan
187 KZ Kazakhstan
188 KE Kenya
189 KI Kiribati
190 KW Kuwait
191 CY Síp
192 KG Kyrgyzstan
193 LA Lào
194 LV Latvia
195 LS Lesotho
196 LB Liban
197 LR Liberia
198 LY Libya
199 LI Liechtenstein
200 LT Litva
201 LU Luxembourg
202 MK Bắc Macedonia
203 MG Madagascar
204 MW Malawi
205 MY Malaysia
206 MV Maldives
207 ML Mali
208 MT Malta
209 MA Maroc
210 MH Quần đảo Marshall
211 MR Mauritania
212 MU Mauritius
213 MX Mexico
214 FM Micronesia
215 MD Moldova
216 MC Monaco
217 MN Mông Cổ
218 ME Montenegro
219 MZ Mozambique
220 MM Myanmar
221 NA Namibia
222 SS Nam Sudan
223 ZA Nam Phi
224 NR Nauru
225 NO Na Uy
226 NP Nepal
227 NZ New Zealand
228 NI Nicaragua
229 NE Niger
230 NG Nigeria
231 RU Nga
232 JP Nhật Bản
233 OM Oman
234 PK Pakistan
235 PW Palau
236 PA Panama
237 PG Papua New Guinea
238 PY Paraguay
239 PE Peru
240 FR Pháp
241 FI Phần Lan
242 PH Philippines
243 QA Qatar
244 RO Romania
245 RW Rwanda
246 KN Saint Kitts và Nevis
247 LC Saint Lucia
248 VC Saint Vincent và Grenadines
249 WS Samoa
250 SM San Marino
251 ST São Tomé và Príncipe
252 CZ Séc
253 SN Senegal
254 RS Serbia
255 SC Seychelles
256 SL Sierra Leone
257 SG Singapore
258 SK Slovakia
259 SI Slovenia
260 SB Quần đảo Solomon
261 SO Somalia
262 LK Sri Lanka
263 SD Sudan
264 SR Suriname
265 SZ Eswatini
266 SY Syria
267 TJ Tajikistan
268 TZ Tanzania
269 ES Tây Ban Nha
270 TD Tchad
271 TH Thái Lan
272 TR Thổ Nhĩ Kỳ
273 SE Thụy Điển
274 CH Thụy Sĩ
275 TG Togo
276 TO Tonga
277 KP Triều Tiên
278 TT Trinidad và Tobago
279 CN Trung Quốc
280 CF Cộng hòa Trung Phi
281 TN Tunisia
282 TM Turkmenistan
283 TV Tuvalu
284 AU Úc
285 UG Uganda
286 UA Ukraina
287 UY Uruguay
288 UZ Uzbekistan
289 VU Vanuatu
290 VA Vatican
291 VE Venezuela
292 IT Ý
293 YE Yemen
294 ZM Zambia
295 ZW Zimbabwe
"""


def _load_countries(table: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for line in table.strip().splitlines():
        code, iso2, name = line.split(" ", 2)
        out[code] = (iso2, nfc(name))
    return out


# 3-digit country code -> (ISO 3166-1 alpha-2, Vietnamese name).
COUNTRY_CODES: dict[str, tuple[str, str]] = _load_countries(_COUNTRY_TABLE)

_DIGITS = frozenset("0123456789")
# Only G in 0..5 (births 1900-2199) can be real; 6..9 would mean the 23rd-24th centuries.
_MAX_CENTURY_DIGIT = 5
_SEX_ALIASES: dict[str, Sex] = {
    "nam": "nam",
    "male": "nam",
    "m": "nam",
    "nu": "nữ",  # search_key("Nữ") == "nu": accepts Nữ/NỮ/nữ/nu and NFD input alike
    "female": "nữ",
    "f": "nữ",
}


def _sex_label(sex: Sex) -> str:
    return t("Nữ") if sex == "nữ" else t("Nam")


class CccdError(ValueError):
    """A CCCD or card-QR problem: ``code`` is stable for programs, ``str(e)`` is for the clerk."""

    def __init__(self, code: str, message: str) -> None:
        # Both in args so the exception pickles (crosses process boundaries) intact.
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CccdInfo:
    """What a CCCD number tells about its holder."""

    number: str
    place_code: str
    """The 3 leading digits as printed: ``"001"`` for Hà Nội, ``"175"`` for Hoa Kỳ."""
    place_name: str
    """Pre-2025 province (or country) of birth registration; not today's province."""
    born_abroad: bool
    sex: Sex
    century: int
    birth_year: int

    @property
    def province_code(self) -> str | None:
        """2-digit (pre-2025) province code for domestic registrations, else ``None``."""
        return None if self.born_abroad else self.place_code[1:]


def normalize_sex(value: str) -> Sex | None:
    """Map "Nam"/"Nữ" (any case, NFC or NFD, with or without accents), "male"/"female" to ``Sex``."""
    return _SEX_ALIASES.get(search_key(value))


def parse_cccd(
    number: str,
    *,
    today: date | None = None,
    birth_year: int | None = None,
    sex: str | None = None,
) -> CccdInfo:
    """Validate and decode a 12-digit CCCD; raise :class:`CccdError` on the first problem found.

    Spaces anywhere are ignored (clerks type "001 099 012 345"). ``birth_year`` and ``sex``, when
    given, are the values declared elsewhere on the dossier and must agree with the number.
    """
    raw = "".join(number.split())
    if not raw:
        raise CccdError("empty", t("Chưa nhập số CCCD."))
    bad = next((ch for ch in raw if ch not in _DIGITS), None)
    if bad is not None:
        # repr() shows invisible characters (e.g. '\x00') instead of printing nothing.
        raise CccdError(
            "non_digit",
            t("Số CCCD chỉ gồm chữ số; có ký tự không hợp lệ: {char}.", char=repr(bad)),
        )
    if len(raw) != 12:
        raise CccdError("length", t("Số CCCD phải có đúng 12 chữ số (đang có {n}).", n=len(raw)))

    place_code = raw[:3]
    if place_code[0] == "0":
        province = PROVINCE_CODES_PRE_2025.get(place_code[1:])
        if province is None:
            raise CccdError(
                "unknown_place",
                t(
                    "Mã tỉnh nơi đăng ký khai sinh '{code}' (3 chữ số đầu) không có "
                    "trong danh mục 63 tỉnh, thành phố.",
                    code=place_code,
                ),
            )
        place_name, born_abroad = province, False
    else:
        country = COUNTRY_CODES.get(place_code)
        if country is None:
            raise CccdError(
                "unknown_place",
                t(
                    "Mã quốc gia nơi đăng ký khai sinh '{code}' (3 chữ số đầu) không có "
                    "trong danh mục mã quốc gia.",
                    code=place_code,
                ),
            )
        place_name, born_abroad = country[1], True

    g = int(raw[3])
    if g > _MAX_CENTURY_DIGIT:
        raise CccdError(
            "century",
            t(
                "Chữ số thứ 4 của số CCCD ('{g}') là mã thế kỷ và giới tính; chỉ nhận từ 0 đến 5.",
                g=g,
            ),
        )
    century = (g // 2 + 19) * 100
    year = century + int(raw[4:6])
    this_year = (today or date.today()).year
    if year > this_year:
        raise CccdError(
            "future_year",
            t(
                "Năm sinh suy ra từ số CCCD ({year}) lớn hơn năm hiện tại ({this_year}).",
                year=year,
                this_year=this_year,
            ),
        )
    decoded_sex: Sex = "nữ" if g % 2 else "nam"

    if birth_year is not None and birth_year != year:
        raise CccdError(
            "birth_year_mismatch",
            t(
                "Số CCCD cho năm sinh {year}, nhưng năm sinh đã khai là {declared}.",
                year=year,
                declared=birth_year,
            ),
        )
    if sex is not None:
        declared = normalize_sex(sex)
        if declared is None:
            raise CccdError(
                "invalid_sex",
                t("Giới tính {sex} không hợp lệ (chỉ nhận Nam hoặc Nữ).", sex=repr(sex)),
            )
        if declared != decoded_sex:
            raise CccdError(
                "gender_mismatch",
                t(
                    "Số CCCD cho giới tính {sex}, nhưng giới tính đã khai là {declared}.",
                    sex=_sex_label(decoded_sex),
                    declared=_sex_label(declared),
                ),
            )

    return CccdInfo(
        number=raw,
        place_code=place_code,
        place_name=place_name,
        born_abroad=born_abroad,
        sex=decoded_sex,
        century=century,
        birth_year=year,
    )


def validate_cccd(number: str, **kw: Any) -> list[str]:
    """Live-validation helper: ``[]`` when valid, else the one Vietnamese message to show."""
    try:
        parse_cccd(number, **kw)
    except CccdError as e:
        return [str(e)]
    return []


# --- QR code on the back of the chip card ----------------------------------------------------


@dataclass(frozen=True)
class ChipQr:
    """The fields of the chip card's QR code, cleaned and cross-checked."""

    cccd: str
    old_id: str | None
    full_name: str
    birth_date: date
    sex: Sex
    address: str
    issue_date: date | None


_QR_FIELDS_MIN = 6  # the issue date may be missing
_QR_FIELDS_MAX = 7
_DDMMYYYY = re.compile(r"[0-9]{8}")
# Old CMND numbers: 9 digits; the 12-digit CMND issued 2012-2016 also appears in practice.
_OLD_ID = re.compile(r"[0-9]{9}|[0-9]{12}")


def _qr_error(message: str) -> CccdError:
    return CccdError("qr_format", t("Mã QR căn cước không hợp lệ: {message}", message=message))


def _qr_date(value: str, label: str) -> date:
    if not _DDMMYYYY.fullmatch(value):
        raise _qr_error(
            t(
                "{label} {value} phải có dạng ngàythángnăm 8 chữ số (DDMMYYYY).",
                label=label,
                value=repr(value),
            )
        )
    try:
        d = date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise _qr_error(
            t("{label} {value} không phải là ngày có thật.", label=label, value=repr(value))
        ) from None
    if d.year < 1900:
        raise _qr_error(
            t("{label} {value} không hợp lệ (trước năm 1900).", label=label, value=repr(value))
        )
    return d


def _qr_text(value: str, label: str, *, max_len: int) -> str:
    try:
        return clean_text(value, max_len=max_len)
    except ValueError as e:
        raise _qr_error(t("{label}: {error}", label=label, error=e)) from None


def parse_chip_qr(text: str, *, today: date | None = None) -> ChipQr:
    """Parse what a USB scanner types for the card QR:
    ``CCCD|CMND|Họ tên|DDMMYYYY|Giới tính|Địa chỉ|DDMMYYYY(ngày cấp)``.

    Tolerates surrounding whitespace and newlines, NFD text, a missing issue date (6 fields) and
    trailing empty fields. Format problems raise ``CccdError("qr_format", ...)``; problems with
    the number itself keep :func:`parse_cccd`'s codes (e.g. ``gender_mismatch``). Nothing else is
    ever raised, whatever the scanner sends.
    """
    today = today or date.today()
    fields = nfc(text).split("|")
    # Some readers append a trailing separator; empty fields past the 7th carry nothing.
    while len(fields) > _QR_FIELDS_MAX and not fields[-1].strip():
        fields.pop()
    if not _QR_FIELDS_MIN <= len(fields) <= _QR_FIELDS_MAX:
        raise _qr_error(
            t(
                "cần {expected} trường ngăn cách bởi dấu '|', đọc được {n}.",
                expected=_QR_FIELDS_MAX,
                n=len(fields),
            )
        )
    fields = [f.strip() for f in fields]
    cccd_f, old_f, name_f, dob_f, sex_f, addr_f = fields[:6]
    issue_f = fields[6] if len(fields) == _QR_FIELDS_MAX else ""

    old_id = "".join(old_f.split()) or None
    if old_id is not None and not _OLD_ID.fullmatch(old_id):
        raise _qr_error(t("số CMND cũ {value} phải gồm 9 hoặc 12 chữ số.", value=repr(old_f)))
    full_name = _qr_text(name_f, t("họ tên"), max_len=150)
    if not full_name:
        raise _qr_error(t("thiếu họ tên."))
    birth_date = _qr_date(dob_f, t("ngày sinh"))
    if birth_date > today:
        raise _qr_error(t("ngày sinh {value} ở sau ngày hôm nay.", value=repr(dob_f)))
    sex = normalize_sex(sex_f)
    if sex is None:
        raise _qr_error(
            t("giới tính {value} không hợp lệ (chỉ nhận Nam hoặc Nữ).", value=repr(sex_f))
        )
    address = _qr_text(addr_f, t("địa chỉ"), max_len=500)
    issue_date: date | None = None
    if issue_f:
        issue_date = _qr_date(issue_f, t("ngày cấp"))
        if issue_date > today or issue_date < birth_date:
            raise _qr_error(t("ngày cấp {value} không hợp lý.", value=repr(issue_f)))

    info = parse_cccd(cccd_f, today=today, birth_year=birth_date.year, sex=sex)
    return ChipQr(
        cccd=info.number,
        old_id=old_id,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
        address=address,
        issue_date=issue_date,
    )
