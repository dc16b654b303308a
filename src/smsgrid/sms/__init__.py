"""Pure SMS domain rules: phone numbers, segments, delivery status codes, keywords, message ids and limits.

No I/O; every function is cheap enough for the send API's hot path.
"""

from smsgrid.sms.keywords import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    KeywordAction,
    classify_keyword,
)
from smsgrid.sms.limits import (
    MAX_MESSAGE_CHARS,
    MAX_RECIPIENTS,
    MIN_RECIPIENTS,
    check_message_length,
    check_recipient_count,
)
from smsgrid.sms.message_ids import (
    MessageDirection,
    MessageIdParts,
    incoming_message_id,
    outgoing_message_id,
    parse_message_id,
)
from smsgrid.sms.phone_numbers import (
    ACS_INVALID_FROM,
    ACS_INVALID_TO,
    MAX_E164_DIGITS,
    digits_of,
    is_e164,
    parse_e164,
)
from smsgrid.sms.segments import SegmentInfo, SmsEncoding, count_segments, is_gsm7
from smsgrid.sms.status_codes import (
    KNOWN_CODES,
    DeliveryStatus,
    DeliveryStatusCode,
    delivery_status_for,
    description,
    is_known,
    short_name,
)

__all__ = [
    "ACS_INVALID_FROM",
    "ACS_INVALID_TO",
    "HELP_KEYWORDS",
    "KNOWN_CODES",
    "MAX_E164_DIGITS",
    "MAX_MESSAGE_CHARS",
    "MAX_RECIPIENTS",
    "MIN_RECIPIENTS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "DeliveryStatus",
    "DeliveryStatusCode",
    "KeywordAction",
    "MessageDirection",
    "MessageIdParts",
    "SegmentInfo",
    "SmsEncoding",
    "check_message_length",
    "check_recipient_count",
    "classify_keyword",
    "count_segments",
    "delivery_status_for",
    "description",
    "digits_of",
    "incoming_message_id",
    "is_e164",
    "is_gsm7",
    "is_known",
    "outgoing_message_id",
    "parse_e164",
    "parse_message_id",
    "short_name",
]
