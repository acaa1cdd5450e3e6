"""Every text a user reads, in one place (English). HTML parse mode: values are escaped by the views."""

from __future__ import annotations

GREETING = (
    "Hi {name}! I take bookings for people who sell their time, with Zoom built in.\n\n"
    "<b>Selling your time?</b>\n"
    "/newservice — create a bookable service and get a link to share\n"
    "/services — your services\n"
    "/zoom — connect or disconnect your Zoom account\n"
    "/timezone — set your time zone (e.g. <code>/timezone Europe/Berlin</code>)\n\n"
    "<b>Booking someone?</b> Open the link they shared with you.\n"
    "/orders — your orders\n"
    "/help — this list, /cancel — leave the current step"
)
GROUPS_UNSUPPORTED = "I only work in private chats. Open a chat with me to book or to offer services."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
NOT_UNDERSTOOD = "I didn't understand that. /help lists what I can do."
TOO_MANY_ORDERS = (
    "You already have {count} active orders here, the most one customer can hold at once. "
    "Please wait until one of them is done, or cancel one in /orders."
)
SLOW_DOWN = (
    "You are sending messages faster than I can answer, so I skipped the latest ones. "
    "Please wait for my answers, then send again."
)
ONLY_TEXT = "Please send text. /help lists what I can do."
EDITS_IGNORED = "I read new messages only: please send the corrected text as a new message."
CANCELLED = "Stopped. Nothing was changed."
NOTHING_TO_CANCEL = "There is nothing to stop. /help lists what I can do."
STALE_BUTTON = "This button is out of date. Please start again from a recent message."
NOT_YOURS = "This is not yours to change."
INTERNAL_ERROR = "Sorry, something went wrong on my side. Nothing was lost; please try again in a moment."

TIMEZONE_USAGE = (
    "Send your time zone as an IANA name, for example <code>/timezone Europe/Berlin</code> "
    "or <code>/timezone America/New_York</code>.\nYour time zone now: <b>{current}</b>."
)
TIMEZONE_BAD = (
    "<b>{value}</b> is not a time zone I know. Use an IANA name such as <code>Europe/Berlin</code>."
)
TIMEZONE_SET = "Your time zone is now <b>{zone}</b>. New services use it; existing ones keep theirs."

NEW_SERVICE_ASK_NAME = "What is the service called? (1–{max} characters, e.g. <i>Consultation</i>)"
NEW_SERVICE_ASK_DURATION = "How long is one booking of <b>{name}</b>? Pick or type the minutes ({min}–{max})."
NEW_SERVICE_USAGE = (
    "Use <code>/newservice</code>, or in one message <code>/newservice 60 Consultation</code>."
)
NAME_EMPTY = "The name cannot be empty. Please send a name of 1–{max} characters."
NAME_TOO_LONG = "That name has {length} characters; the limit is {max}. Please send a shorter one."
DURATION_BAD = "Please send the duration as a whole number of minutes from {min} to {max}."
SERVICE_CREATED = "Your service is ready. Share its link with customers:"
NO_SERVICES = "You have no services yet. Create one with /newservice."
SERVICES_HEADER = "Your services ({first}–{last} of {total}):"
SERVICES_MORE = "{count} more."
SERVICES_MORE_BUTTON = "More services"

SERVICE_CARD = (
    "<b>{name}</b>\nDuration: {duration} min\nTime zone: {timezone}\nZoom: {zoom}\nShare link: {link}"
)
SERVICE_CARD_FOR_CUSTOMER = "<b>{name}</b>\nDuration: {duration} min\nTime zone: {timezone}"
UNKNOWN_SERVICE = "I can't find that service. Please ask for a fresh link."
ZOOM_NOW_ON = "Zoom is now On for <b>{name}</b>: new orders get a Zoom meeting."
ZOOM_NOW_OFF = (
    "Zoom is now Off for <b>{name}</b>: new orders get no meeting. Meetings already created stay in Zoom."
)
ZOOM_NEEDS_CONNECT = (
    "To switch Zoom on for <b>{name}</b>, connect your Zoom account first. The link is valid for 10 minutes."
)
ZOOM_NOT_CONFIGURED = "Zoom is not set up on this bot yet (the operator has not configured a Zoom app)."

ZOOM_STATUS_CONNECTED = "Zoom: connected as <b>{email}</b>."
ZOOM_STATUS_RECONNECT = "Zoom: the connection to <b>{email}</b> stopped working. Please reconnect."
ZOOM_STATUS_NONE = "Zoom: not connected. Connect your Zoom account to add meetings to orders."
ZOOM_CONNECT_LINK = "Open this link to connect Zoom (valid for 10 minutes):"
ZOOM_CONNECTED = "Zoom is connected as <b>{email}</b>."
ZOOM_CONNECTED_SERVICE = "Zoom is now On for <b>{name}</b>."
ZOOM_CONNECT_FAILED = (
    "Connecting Zoom did not work: {reason} Nothing was changed; you can try again with /zoom."
)
ZOOM_DISCONNECT_ASK = (
    "Disconnect Zoom (<b>{email}</b>)? Zoom will be switched Off for all your services. "
    "Meetings already created stay in your Zoom account."
)
ZOOM_DISCONNECTED = "Zoom is disconnected and switched Off for all your services. Existing meetings stay in your Zoom account."
ZOOM_DEAUTHORIZED = (
    "The Zoom app was removed from your Zoom account, so Zoom is now Off for all your services. "
    "Existing meetings stay in Zoom. Use /zoom to connect again."
)
ZOOM_RECONNECT_NEEDED = (
    "Zoom stopped accepting this bot's access for <b>{email}</b>. Meetings for your orders are waiting; "
    "reconnect and they will be created by themselves."
)
ZOOM_ACCOUNT_TAKEN = (
    "that Zoom account is already connected to another owner here. One Zoom account serves one owner; "
    "disconnect it there first."
)
ZOOM_DAILY_LIMIT = (
    "Zoom's daily limit of meeting changes for <b>{email}</b> is reached. Pending meetings will be "
    "created or updated after 00:00 UTC."
)
ZOOM_REFUSED = "Zoom refused the meeting for Order #{order}: {reason}"

PICK_DATE = "<b>{name}</b> ({duration} min). Pick a day (times in {timezone}):"
PICK_TIME = "<b>{name}</b>, {day}. Pick a start time ({timezone}):"
NO_DAYS = "There are no free times in the next {days} days. Please try again later."
NO_TIMES = "No free times left on {day}. Please pick another day."
ASK_ORDER_NAME = (
    "What should the order be called? Send a name (1–{max} characters), or press Skip to use "
    "<b>{default}</b>."
)
SUMMARY = (
    "<b>Please check your order</b>\n"
    "Service: {service}\n"
    "Name: {name}\n"
    "Start: {start}\n"
    "Duration: {duration} min\n"
    "{zoom}"
)
SUMMARY_ZOOM = "A Zoom meeting will be created for it."
SLOT_TAKEN = "Sorry, {start} was just taken. Please pick another time."
SLOT_NOT_OFFERED = "That time can't be booked. Please pick one of the offered times."
DRAFT_GONE = "This step is no longer current. Open the service link again to order."

ORDER_CARD = (
    "<b>Order #{id}</b> · {status}\n"
    "Service: {service}\n"
    "Name: {name}\n"
    "Start: {start}\n"
    "Duration: {duration} min\n"
    "{party}\n"
    "{meeting}"
)
MEETING_READY = "Zoom: use the Join a meeting button."
MEETING_PENDING = "Zoom: the meeting is being created…"
MEETING_UPDATING = "Zoom: the meeting is being updated…"
MEETING_WAITING_RECONNECT = "Zoom: waiting for the owner to reconnect Zoom."
MEETING_WAITING_LIMIT = "Zoom: waiting for Zoom's daily limit to reset (00:00 UTC)."
MEETING_FAILED = "Zoom: the meeting could not be created ({reason})."
MEETING_DELETED = "Zoom: the meeting was deleted in Zoom."
MEETING_DRIFTED = "Zoom: the meeting was changed in Zoom and no longer matches this order."
MEETING_NONE = "No Zoom meeting for this order."
MEETING_KEPT = "The Zoom meeting stays in the owner's Zoom account, where they may delete it."

NO_ORDERS = "You have no orders yet."
ORDERS_HEADER = "Your orders ({first}–{last} of {total}):"

ACTION_ASK = {
    "cx": "Cancel Order #{id}?",
    "rj": "Reject Order #{id}?",
    "rs": "Move Order #{id} from {old} to {new}?",
    "rn": "Rename Order #{id} from <b>{old}</b> to <b>{new}</b>?",
    "du": "Change the duration of Order #{id} from {old} to {new} min?",
    "mk": "Create a Zoom meeting for Order #{id}?",
    "fx": "Put the order's name, start and duration back into the Zoom meeting of Order #{id}?",
}
ASK_NEW_NAME = "Send the new name for Order #{id} (1–{max} characters)."
ASK_NEW_DURATION = "Pick or type the new duration of Order #{id} in minutes ({min}–{max})."
PICK_NEW_DATE = "Reschedule Order #{id}: pick a new day ({timezone}):"
PICK_NEW_TIME = "Reschedule Order #{id}, {day}: pick a new start time ({timezone}):"
ORDER_CLOSED = "Order #{id} is {status} and can't be changed."
ORDER_CHANGED_MEANWHILE = "Order #{id} changed meanwhile. Here it is as it is now."
DURATION_CLASH = "Order #{id} can't be {new} min long: it would overlap another booking."
KEPT_AS_IS = "Order #{id} is unchanged."

TOLD_CANCELLED = "Order #{id} ({name}, {start}) was cancelled by the customer."
TOLD_REJECTED = "Order #{id} ({name}, {start}) was rejected by the owner."
TOLD_CONFIRMED = "Order #{id} ({name}, {start}) was confirmed by the owner."
TOLD_DONE = "Order #{id} ({name}) was marked done by the owner."

CHANGED_HEADER = "<b>Order #{id} changed</b> ({service})"
CHANGED_RESCHEDULED = "<b>Rescheduled</b>: from {old} to {new}"
CHANGED_NAME = "Name: {old} → {new}"
CHANGED_DURATION = "Duration: {old} → {new} min"
CHANGED_MEETING_UPDATED = "The Zoom meeting was updated."
NEW_MEETING_LINK = "<b>Order #{id}</b>: a new Zoom meeting was created; use the new link."
MEETING_DELETED_OWNER = (
    "The Zoom meeting of Order #{id} ({name}, {start}) was deleted in Zoom. The order stays; "
    "create a new meeting if you want one."
)
MEETING_DRIFT_OWNER = (
    "The Zoom meeting of Order #{id} was changed in Zoom and no longer matches the order "
    "({name}, {start}, {duration} min)."
)

CALLBACK_PAGE_OK = "Zoom is connected. You can close this page and return to Telegram."
CALLBACK_PAGE_FAILED = "Zoom was not connected: {reason} Return to Telegram and try again with /zoom."
ZOOM_ACCOUNT_MOVED = (
    "Your Zoom account <b>{email}</b> was just connected by another Telegram user of this bot, so Zoom "
    "is now Off for your services. Existing meetings stay in Zoom. Use /zoom to connect an account again."
)
ZOOM_RECONNECT_BUTTON = "Reconnect Zoom"
ZOOM_RECONNECT_HINT = "If the link has expired, use /zoom for a fresh one."
KEPT_ZOOM = "Zoom stays connected."
ACTION_DONE = "Order #{id}: {what}."
ACTION_RESULTS = {
    "rs": "rescheduled to {start}",
    "rn": "renamed to <b>{name}</b>",
    "du": "now {minutes} min long",
    "cx": "cancelled",
    "rj": "rejected",
    "cf": "confirmed",
    "dn": "marked done",
    "mk": "a Zoom meeting is being created",
    "fx": "the Zoom meeting is being put back to the order's values",
}
