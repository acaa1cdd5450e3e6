"""Every text a user reads, in one place. HTML parse mode: values are escaped by the views.

Each value is the English text and the key of its translations in bot/i18n/locales/<lang>/LC_MESSAGES/
messages.po. Mark a new text with `N_(...)` (or `Plural(...)` when it has a count), add its Russian in the
catalog (`python -m bot.i18n update` adds new keys), and render it where the message is sent:
`i18n.t(texts.X, name=...)`, a job's `Text(texts.X, {...})`, or `raise UserError(texts.X, name=...)`.
"""

from __future__ import annotations

from bot.domain import OrderAction
from bot.i18n import N_, Plural, pN_

GREETING = N_(
    "Hi {name}! I take bookings for people who sell their time, with Zoom built in.\n\n"
    "<b>Selling your time?</b>\n"
    "/newservice — create a bookable service and get a link to share\n"
    "/services — your services\n"
    "/zoom — connect or disconnect your Zoom account\n"
    "/timezone — set your time zone (e.g. <code>/timezone Europe/Berlin</code>)\n\n"
    "<b>Booking someone?</b> Open the link they shared with you.\n"
    "/orders — your orders\n"
    "/calendar — your orders in your calendar app\n"
    "/language — English or Russian\n"
    "/help — this list, /cancel — leave the current step"
)
GROUPS_UNSUPPORTED = N_("I only work in private chats. Open a chat with me to book or to offer services.")
UNKNOWN_COMMAND = N_("I don't know that command. /help lists what I can do.")
NOT_UNDERSTOOD = N_("I didn't understand that. /help lists what I can do.")
ONLY_TEXT = N_("Please send text. /help lists what I can do.")
EDITS_IGNORED = N_("I read new messages only: please send the corrected text as a new message.")
CANCELLED = N_("Stopped. Nothing was changed.")
NOTHING_TO_CANCEL = N_("There is nothing to stop. /help lists what I can do.")
STALE_BUTTON = N_("This button is out of date. Please start again from a recent message.")
NOT_YOURS = N_("This is not yours to change.")
INTERNAL_ERROR = N_("Sorry, something went wrong on my side. Nothing was lost; please try again in a moment.")

TIMEZONE_USAGE = N_(
    "Send your time zone as an IANA name, for example <code>/timezone Europe/Berlin</code> "
    "or <code>/timezone America/New_York</code>.\nYour time zone now: <b>{current}</b>."
)
TIMEZONE_BAD = N_(
    "<b>{value}</b> is not a time zone I know. Use an IANA name such as <code>Europe/Berlin</code>."
)
TIMEZONE_SET = N_("Your time zone is now <b>{zone}</b>. New services use it; existing ones keep theirs.")

NEW_SERVICE_ASK_NAME = N_("What is the service called? (1–{max} characters, e.g. <i>Consultation</i>)")
NEW_SERVICE_ASK_DURATION = N_(
    "How long is one booking of <b>{name}</b>? Pick or type the minutes ({min}–{max})."
)
NEW_SERVICE_USAGE = N_(
    "Use <code>/newservice</code>, or in one message <code>/newservice 60 Consultation</code>."
)
NAME_EMPTY = N_("The name cannot be empty. Please send a name of 1–{max} characters.")
NAME_TOO_LONG = N_("That name has {length} characters; the limit is {max}. Please send a shorter one.")
DURATION_BAD = N_("Please send the duration as a whole number of minutes from {min} to {max}.")
SERVICE_CREATED = N_("Your service is ready. Share its link with customers:")
NO_SERVICES = N_("You have no services yet. Create one with /newservice.")

SERVICE_CARD = N_(
    "<b>{name}</b>\nDuration: {duration}\nTime zone: {timezone}\nZoom: {zoom}\nShare link: {link}"
)
SERVICE_CARD_FOR_CUSTOMER = N_("<b>{name}</b>\nDuration: {duration}\nTime zone: {timezone}")
UNKNOWN_SERVICE = N_("I can't find that service. Please ask for a fresh link.")
ZOOM_NOW_ON = N_("Zoom is now On for <b>{name}</b>: new orders get a Zoom meeting.")
ZOOM_NOW_OFF = N_(
    "Zoom is now Off for <b>{name}</b>: new orders get no meeting. Meetings already created stay in Zoom."
)
ZOOM_NEEDS_CONNECT = N_(
    "To switch Zoom on for <b>{name}</b>, connect your Zoom account first. The link is valid for 10 minutes."
)
ZOOM_NOT_CONFIGURED = N_("Zoom is not set up on this bot yet (the operator has not configured a Zoom app).")

ZOOM_STATUS_CONNECTED = N_("Zoom: connected as <b>{email}</b>.")
ZOOM_STATUS_RECONNECT = N_("Zoom: the connection to <b>{email}</b> stopped working. Please reconnect.")
ZOOM_STATUS_NONE = N_("Zoom: not connected. Connect your Zoom account to add meetings to orders.")
ZOOM_CONNECT_LINK = N_("Open this link to connect Zoom (valid for 10 minutes):")
ZOOM_CONNECTED = N_("Zoom is connected as <b>{email}</b>.")
ZOOM_CONNECTED_SERVICE = N_("Zoom is now On for <b>{name}</b>.")
ZOOM_CONNECT_FAILED = N_(
    "Connecting Zoom did not work: {reason} Nothing was changed; you can try again with /zoom."
)
ZOOM_DISCONNECT_ASK = N_(
    "Disconnect Zoom (<b>{email}</b>)? Zoom will be switched Off for all your services. "
    "Meetings already created stay in your Zoom account."
)
ZOOM_DISCONNECTED = N_(
    "Zoom is disconnected and switched Off for all your services. Existing meetings stay in your Zoom account."
)
ZOOM_DEAUTHORIZED = N_(
    "The Zoom app was removed from your Zoom account, so Zoom is now Off for all your services. "
    "Existing meetings stay in Zoom. Use /zoom to connect again."
)
ZOOM_RECONNECT_NEEDED = N_(
    "Zoom stopped accepting this bot's access for <b>{email}</b>. Meetings for your orders are waiting; "
    "reconnect and they will be created by themselves."
)
ZOOM_ACCOUNT_TAKEN = N_(
    "that Zoom account is already connected to another owner here. One Zoom account serves one owner; "
    "disconnect it there first."
)
ZOOM_DAILY_LIMIT = N_(
    "Zoom's daily limit of meeting changes for <b>{email}</b> is reached. Pending meetings will be "
    "created or updated after 00:00 UTC."
)
ZOOM_REFUSED = N_("Zoom refused the meeting for Order #{order}: {reason}")

PICK_DATE = N_("<b>{name}</b> ({duration}). Pick a day (times in {timezone}):")
PICK_TIME = N_("<b>{name}</b>, {day}. Pick a start time ({timezone}):")
NO_DAYS = Plural(
    "There are no free times in the next {count} day. Please try again later.",
    "There are no free times in the next {count} days. Please try again later.",
)
NO_TIMES = N_("No free times left on {day}. Please pick another day.")
ASK_ORDER_NAME = N_(
    "What should the order be called? Send a name (1–{max} characters), or press Skip to use "
    "<b>{default}</b>."
)
SUMMARY = N_(
    "<b>Please check your order</b>\n"
    "Service: {service}\n"
    "Name: {name}\n"
    "Start: {start}\n"
    "Duration: {duration}\n"
    "{zoom}"
)
SUMMARY_ZOOM = N_("A Zoom meeting will be created for it.")
SLOT_TAKEN = N_("Sorry, {start} was just taken. Please pick another time.")
SLOT_NOT_OFFERED = N_("That time can't be booked. Please pick one of the offered times.")
DRAFT_GONE = N_("This step is no longer current. Open the service link again to order.")

ORDER_CARD = N_(
    "<b>Order #{id}</b> · {status}\n"
    "Service: {service}\n"
    "Name: {name}\n"
    "Start: {start}\n"
    "Duration: {duration}\n"
    "{party}\n"
    "{meeting}"
)
MEETING_READY = N_("Zoom: use the Join a meeting button.")
MEETING_PENDING = N_("Zoom: the meeting is being created…")
MEETING_UPDATING = N_("Zoom: the meeting is being updated…")
MEETING_WAITING_RECONNECT = N_("Zoom: waiting for the owner to reconnect Zoom.")
MEETING_WAITING_LIMIT = N_("Zoom: waiting for Zoom's daily limit to reset (00:00 UTC).")
MEETING_FAILED = N_("Zoom: the meeting could not be created ({reason}).")
MEETING_DELETED = N_("Zoom: the meeting was deleted in Zoom.")
MEETING_DRIFTED = N_("Zoom: the meeting was changed in Zoom and no longer matches this order.")
MEETING_NONE = N_("No Zoom meeting for this order.")
MEETING_KEPT = N_("The Zoom meeting stays in the owner's Zoom account, where they may delete it.")

NO_ORDERS = N_("You have no orders yet.")
ORDERS_HEADER = N_("Your orders ({first}–{last} of {total}):")

ACTION_ASK = {
    OrderAction.CANCEL: N_("Cancel Order #{id}?"),
    OrderAction.REJECT: N_("Reject Order #{id}?"),
    OrderAction.RESCHEDULE: N_("Move Order #{id} from {old} to {new}?"),
    OrderAction.RENAME: N_("Rename Order #{id} from <b>{old}</b> to <b>{new}</b>?"),
    OrderAction.DURATION: N_("Change the duration of Order #{id} from {old} to {new}?"),
    OrderAction.CREATE_MEETING: N_("Create a Zoom meeting for Order #{id}?"),
    OrderAction.RESTORE_MEETING: N_(
        "Put the order's name, start and duration back into the Zoom meeting of Order #{id}?"
    ),
}
ASK_NEW_NAME = N_("Send the new name for Order #{id} (1–{max} characters).")
ASK_NEW_DURATION = N_("Pick or type the new duration of Order #{id} in minutes ({min}–{max}).")
PICK_NEW_DATE = N_("Reschedule Order #{id}: pick a new day ({timezone}):")
PICK_NEW_TIME = N_("Reschedule Order #{id}, {day}: pick a new start time ({timezone}):")
ORDER_CLOSED = N_("Order #{id} is {status} and can't be changed.")
ORDER_CHANGED_MEANWHILE = N_("Order #{id} changed meanwhile. Here it is as it is now.")
DURATION_CLASH = N_("Order #{id} can't be {new} long: it would overlap another booking.")
KEPT_AS_IS = N_("Order #{id} is unchanged.")
TOO_MANY_CHANGES = N_(
    "Order #{id} is unchanged: you have changed your orders here too often. You can change it again in {wait}."
)

TOLD_CANCELLED = N_("Order #{id} ({name}, {start}) was cancelled by the customer.")
TOLD_REJECTED = N_("Order #{id} ({name}, {start}) was rejected by the owner.")
TOLD_CONFIRMED = N_("Order #{id} ({name}, {start}) was confirmed by the owner.")
LINES = N_("{lines}")  # several texts, one per line
TOLD_WITH_NOTE = N_("{told}\n{note}")
TOLD_DONE = N_("Order #{id} ({name}) was marked done by the owner.")

CHANGED_HEADER = N_("<b>Order #{id} changed</b> ({service})")
CHANGED_RESCHEDULED = N_("<b>Rescheduled</b>: from {old} to {new}")
CHANGED_NAME = N_("Name: {old} → {new}")
CHANGED_DURATION = N_("Duration: {old} → {new}")
CHANGED_MEETING_UPDATED = N_("The Zoom meeting was updated.")
NEW_MEETING_LINK = N_("<b>Order #{id}</b>: a new Zoom meeting was created; use the new link.")
MEETING_DELETED_OWNER = N_(
    "The Zoom meeting of Order #{id} ({name}, {start}) was deleted in Zoom. The order stays; "
    "create a new meeting if you want one."
)
MEETING_DRIFT_OWNER = N_(
    "The Zoom meeting of Order #{id} was changed in Zoom and no longer matches the order "
    "({name}, {start}, {duration})."
)

LOGIN_DECLINED = N_("the Zoom login was declined.")
LOGIN_NO_CODE = N_("Zoom sent no authorization code.")
LOGIN_NOT_ACCEPTED = N_("Zoom did not accept the login.")
LOGIN_NO_ACCOUNT = N_("Zoom did not tell which account logged in.")
LOGIN_INCOMPLETE = N_("the login link is incomplete.")
LOGIN_UNKNOWN = N_("the login link is unknown.")
LOGIN_USED = N_("the login link was already used.")
LOGIN_EXPIRED = N_("the login link expired (links are valid for 10 minutes).")
CALLBACK_PAGE_OK = N_("Zoom is connected. You can close this page and return to Telegram.")
CALLBACK_PAGE_FAILED = N_("Zoom was not connected: {reason} Return to Telegram and try again with /zoom.")
ZOOM_ACCOUNT_MOVED = N_(
    "Your Zoom account <b>{email}</b> was just connected by another Telegram user of this bot, so Zoom "
    "is now Off for your services. Existing meetings stay in Zoom. Use /zoom to connect an account again."
)
ZOOM_RECONNECT_BUTTON = N_("Reconnect Zoom")
ZOOM_RECONNECT_HINT = N_("If the link has expired, use /zoom for a fresh one.")
KEPT_ZOOM = N_("Zoom stays connected.")
ACTION_DONE = N_("Order #{id}: {what}.")
ACTION_RESULTS = {
    OrderAction.RESCHEDULE: N_("rescheduled to {start}"),
    OrderAction.RENAME: N_("renamed to <b>{name}</b>"),
    OrderAction.DURATION: N_("now {minutes} long"),
    OrderAction.CANCEL: N_("cancelled"),
    OrderAction.REJECT: N_("rejected"),
    OrderAction.CONFIRM: N_("confirmed"),
    OrderAction.DONE: N_("marked done"),
    OrderAction.CREATE_MEETING: N_("a Zoom meeting is being created"),
    OrderAction.RESTORE_MEETING: N_("the Zoom meeting is being put back to the order's values"),
}

EMPTY_VALUE = N_("(empty)")
UNKNOWN_ERROR = N_("unknown error")
ON = N_("On")
OFF = N_("Off")
STATUS_NAMES = {
    "new": pN_("order status", "New"),
    "confirmed": pN_("order status", "Confirmed"),
    "done": pN_("order status", "Done"),
    "cancelled": pN_("order status", "Cancelled"),
    "rejected": pN_("order status", "Rejected"),
}
STATUS_WORDS = {
    "new": pN_("order status", "new"),
    "confirmed": pN_("order status", "confirmed"),
    "done": pN_("order status", "done"),
    "cancelled": pN_("order status", "cancelled"),
    "rejected": pN_("order status", "rejected"),
}
CARD_CUSTOMER = N_("Customer: {name}")
MORE_ORDERS = Plural("{count} more.", "{count} more.")

BUTTON_ORDER = N_("Order")
BUTTON_ORDERS = N_("Orders")
BUTTON_ZOOM_ON = N_("Zoom: On")
BUTTON_ZOOM_OFF = N_("Zoom: Off")
BUTTON_CONFIRM = N_("Confirm")
BUTTON_CANCEL = N_("Cancel")
BUTTON_SKIP = N_("Skip")
BUTTON_BACK = N_("Back")
BUTTON_OTHER_DAYS = N_("« Other days")
BUTTON_JOIN = N_("Join a meeting")
BUTTON_RESCHEDULE = N_("Reschedule")
BUTTON_RENAME = N_("Rename")
BUTTON_DURATION = N_("Duration")
BUTTON_REJECT = N_("Reject")
BUTTON_DONE = N_("Done")
BUTTON_RESTORE_MEETING = N_("Restore meeting")
BUTTON_CREATE_MEETING = N_("Create meeting")
BUTTON_CONNECT_ZOOM = N_("Connect Zoom")
BUTTON_RECONNECT = N_("Reconnect")
BUTTON_DISCONNECT = N_("Disconnect")
BUTTON_MORE_ORDERS = N_("More orders")

LANGUAGE_ASK = N_("Choose the language I speak with you:")
LANGUAGE_SET = N_("I'll speak English with you now.")
LANGUAGE_BUTTONS = {"en": "English", "ru": "Русский"}  # each in its own language, never translated

PAGE_CONNECTED_TITLE = N_("Zoom connected")
PAGE_FAILED_TITLE = N_("Zoom not connected")
MEETING_AGENDA = N_("Booked in Telegram: order #{id}.")

COMMAND_START = N_("What I can do")
COMMAND_ORDERS = N_("Your orders")
COMMAND_TIMEZONE = N_("Set your time zone")
COMMAND_NEWSERVICE = N_("Offer a bookable service")
COMMAND_HELP = N_("Help")
COMMAND_CANCEL = N_("Leave the current step")
COMMAND_LANGUAGE = N_("Language")
COMMAND_SERVICES = N_("Your services")
COMMAND_OWNER_ORDERS = N_("Orders of your services and your own")
COMMAND_CREATE_SERVICE = N_("Create a service")
COMMAND_ZOOM = N_("Your Zoom connection")

REMINDER = N_("⏰ <b>Reminder</b>: Order #{id} starts {start}.\nService: {service}\nName: {name}")
BUTTON_ADD_TO_CALENDAR = N_("Add to calendar")
BUTTON_NEW_FEED_LINK = N_("New link")
COMMAND_CALENDAR = N_("Your orders in your calendar app")
CALENDAR_FILE_CAPTION = N_("Order #{id}: open the file to add it to your calendar.")
CALENDAR_FEED = N_(
    "Your private calendar feed with all your orders (as customer and as owner, from 30 days back on):\n"
    "<code>{url}</code>\n"
    'Add it to Google Calendar, Apple Calendar or Outlook with "add calendar from URL" / '
    '"subscribe". Anyone who has this link sees your orders: press New link to replace it.'
)
CALENDAR_FEED_EXISTS = N_(
    "You already have a private calendar feed. I keep only a fingerprint of its link, so I can't show it "
    "again: press New link for a fresh one (the old link then stops working)."
)
CALENDAR_FEED_REPLACED = N_("The old link no longer works. Your new calendar feed:\n<code>{url}</code>")
CALENDAR_EVENT_DESCRIPTION = N_("Order #{id} ({service}). Join the Zoom meeting: {join_url}")
CALENDAR_EVENT_DESCRIPTION_NO_MEETING = N_("Order #{id} ({service}).")
CALENDAR_NAME = N_("Bookings")
# Availability and booking rules ------------------------------------------------------------------
# Day names come from bot.i18n (`i18n.weekday`); the words typed in /hours (mon…sun, off) stay English.
HOURS_OFF = pN_("working hours of a day", "off")
HOURS_DAY_LINE = N_("{day}: {spans}")
HOURS_WEEK = N_(
    "<b>Your working hours</b> (wall-clock time in each service's time zone)\n{week}\n\n"
    "Press a day to change it, or send it in one message, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_SERVICE_WEEK = N_(
    "<b>Hours of {name}</b> ({timezone})\n{week}\n{source}\n\nPress a day to change it for this service only."
)
HOURS_SERVICE_OWN = N_("This service has its own hours.")
HOURS_SERVICE_SHARED = N_(
    "These are your weekly hours (/hours); changing a day here gives the service its own."
)
HOURS_SHARED_BUTTON = N_("Use my weekly hours")
HOURS_OFF_BUTTON = N_("{day}: off")
HOURS_ASK_DAY = N_(
    "Send the hours for <b>{day}</b>, e.g. <code>09:00-12:00 13:00-18:00</code> "
    "(several intervals allowed, <code>24:00</code> ends the day), or <code>off</code>."
)
HOURS_USAGE = N_(
    "Send the days and their hours, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_BAD_DAY = N_(
    "I don't know the day <b>{value}</b>. Use mon, tue, wed, thu, fri, sat, sun, a range like "
    "<code>mon-fri</code> or a list like <code>mon,wed,fri</code>, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_BAD_TIME = N_(
    "<b>{value}</b> is not a time of day. Use HH:MM from 00:00 to 23:59 (24:00 only as an end), "
    "e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_BAD_SPAN = N_(
    "<b>{value}</b> is not an interval. Write start-end, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_NO_SPANS = N_(
    "Give at least one interval or <code>off</code>, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
HOURS_END_BEFORE_START = N_(
    "In <b>{value}</b> the end is not after the start. Nothing crosses midnight: split it at 24:00, "
    "e.g. <code>/hours fri 20:00-24:00</code> and <code>/hours sat 00:00-02:00</code>."
)
HOURS_OVERLAP = N_(
    "The intervals {first} and {second} overlap. Give each part of a day once, e.g. <code>/hours mon-fri 09:00-12:00 13:00-18:00</code> or <code>/hours sat off</code>."
)
AWAY_USAGE = N_(
    "Mark days off with one date or a range, e.g. <code>/away 2026-12-24</code> or <code>/away 2026-12-24..2027-01-02</code>."
)
AWAY_BAD_DATE = N_(
    "<b>{value}</b> is not a date. Write it as YYYY-MM-DD, e.g. <code>/away 2026-12-24</code> or <code>/away 2026-12-24..2027-01-02</code>."
)
AWAY_REVERSED = N_("The range {first}..{last} ends before it starts. Put the earlier date first.")
AWAY_PAST = N_("{day} is in the past (today is {today}). Days off start today or later.")
AWAY_TOO_FAR = N_("{day} is more than a year ahead. Days off can be set up to {latest}.")
AWAY_LIST = N_("<b>Your days off</b> (no times are offered on them)\n{days}")
AWAY_NONE = N_(
    "You have no days off coming. Add some with <code>/away 2026-12-24</code> or <code>/away 2026-12-24..2027-01-02</code>."
)
AWAY_ORDERS = Plural(
    "Active orders on these days: {count}. It stays as it is; reschedule or reject it if needed.",
    "Active orders on these days: {count}. They stay as they are; reschedule or reject them if needed.",
)
AWAY_REMOVE_BUTTON = N_("Remove {days}")
SLOT_DAY_OFF = N_("Sorry, {day} has just become a day off. Please pick another day.")

BUTTON_SETTINGS = N_("Settings")
SETTINGS_CARD = N_(
    "<b>Settings of {name}</b>\n"
    "Duration: {duration}\n"
    "Step between start times: {step}\n"
    "Buffer after each meeting: {buffer}\n"
    "Notice: {notice}\n"
    "Horizon: {horizon}\n"
    "Changes by customers: {changes}\n"
    "Reminders: {reminders}\n"
    "Hours: {hours}"
)
SETTINGS_NOTICE_NONE = N_("none")
SETTINGS_HOURS_OWN = N_("its own")
SETTINGS_HOURS_SHARED = N_("your weekly hours")
SETTINGS_CHANGES_ANY = N_("any time")
SETTINGS_HOURS_BEFORE = Plural("until {count} h before the start", "until {count} h before the start")
SETTING_NAMES = {
    OrderAction.DURATION: N_("Duration"),
    "st": N_("Step"),
    "bu": N_("Buffer"),
    "no": N_("Notice"),
    "ho": N_("Horizon"),
    "ch": N_("Changes"),
    "re": N_("Reminders"),
    "hr": N_("Hours"),
}
SETTING_ASK = {
    OrderAction.DURATION: N_("Pick or type the duration of <b>{name}</b> in minutes ({min}–{max})."),
    "st": N_("How far apart should offered start times of <b>{name}</b> be?"),
    "bu": N_("How much time should stay free after each meeting of <b>{name}</b>?"),
    "no": N_("How long before the start must <b>{name}</b> be booked at the latest?"),
    "ho": N_("How many days ahead may customers book <b>{name}</b>?"),
    "ch": N_("Until when may customers reschedule, rename, change the duration or cancel <b>{name}</b>?"),
    "re": N_(
        "Send the reminder times before the start of <b>{name}</b>, e.g. <code>24h 1h 15m</code> "
        "(each from 1m to 7d), or <code>off</code>. Now: {current}."
    ),
}
SETTING_DAYS_LABEL = Plural("{count} day", "{count} days")
SETTING_HOURS_LABEL = Plural("{count} h", "{count} h")
SETTING_SAVED = N_("Saved.")
SETTING_BAD = N_("That value is not one of the choices. Please press one of the offered buttons.")
SETTINGS_BACK = N_("« Settings")
REMINDERS_OFF = pN_("reminders", "off")
REMINDERS_BAD = N_(
    "<b>{value}</b> is not a reminder time. Send up to {max} times such as <code>24h 1h 15m</code> "
    "(m minutes, h hours, d days; each from 1m to 7d), or <code>off</code>."
)
CHANGES_CLOSED = Plural(
    "Order #{id} can no longer be changed or cancelled here: changes end {count} h before the start. "
    "Please write to the owner.",
    "Order #{id} can no longer be changed or cancelled here: changes end {count} h before the start. "
    "Please write to the owner.",
)
TIMES_EARLIER = N_("« Earlier")
TIMES_LATER = N_("Later »")
SETTING_CURRENT = N_("✓ {label}")
REMINDERS_DEFAULT_BUTTON = N_("24h 1h")
REMINDERS_OFF_BUTTON = pN_("reminders", "Off")

BUTTON_BOOK_CLIENT = N_("Book for a client")
DAYS_RANGE = N_("{first} – {last}")
CLIENT_PICK_DATE = N_("Book <b>{name}</b> ({duration}) for a client. Pick a day (times in {timezone}):")
CLIENT_PICK_TIME = N_("<b>{name}</b> for a client, {day}. Pick a start time ({timezone}):")
CLIENT_NO_DAYS = Plural(
    "There are no free times inside your working hours in the next {count} day.",
    "There are no free times inside your working hours in the next {count} days.",
)
CLIENT_ASK_NAME = N_(
    "What is the client's name? (1–{max} characters) The order will be called <b>{service} — …</b>."
)
CLIENT_SUMMARY = N_(
    "<b>Please check the booking</b>\n"
    "Service: {service}\n"
    "Client: {client}\n"
    "Name: {name}\n"
    "Start: {start}\n"
    "Duration: {duration}\n"
    "{zoom}\n"
    "After Confirm you get an invite link to send to the client."
)
ORDER_CLIENT_WAITING = N_("Client: {name} (has not opened the invite yet)")
ORDER_INVITE = N_("Invite link for the client: {link}")
INVITE_UNKNOWN = N_("This invite link is not valid. Please ask for a fresh one.")
INVITE_TAKEN = N_(
    "This order already has its customer. If it was meant for you, please ask whoever sent the link."
)
INVITE_YOURS = N_("Order #{id} is already yours: /orders shows it.")
INVITE_OWN = N_("This invite link is for your client: forward it to them. Nothing was changed.")
INVITE_CLAIMED = N_("{customer} opened your invite: Order #{id} ({name}) is now in their chat too.")
COMMAND_HOURS = N_("Your working hours")
COMMAND_AWAY = N_("Your days off")
