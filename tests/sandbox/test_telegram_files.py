"""The Telegram sandbox's files: sendDocument, getFile and downloads, driven by the real PTB client."""

from __future__ import annotations

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, TelegramError

from tests.support.emulator import ANN, TOKEN, Served

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


async def test_an_uploaded_document_arrives_with_caption_and_buttons_and_downloads(
    served: Served, bot: Bot
) -> None:
    ann = served.user()
    ann.send("/start")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
    sent = await bot.send_document(
        ANN, InputFile(ICS, filename="order-7.ics"), caption="<b>Order #7</b>", parse_mode="HTML",
        reply_markup=markup,
    )  # fmt: skip
    document = sent.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "order-7.ics",
        "text/calendar",
        len(ICS),
    )
    assert sent.caption == "Order #7" and sent.caption_entities[0].type == "bold" and sent.text is None

    seen = ann.last()
    assert (
        seen.raw["document"]["file_id"] == document.file_id and seen.button("Again").callback_data == "again"
    )
    assert ann.download(seen) == ICS
    assert "[file order-7.ics] Order #7" in ann.transcript()

    # The bot's own way back to the bytes: getFile, then the download path.
    file = await bot.get_file(document.file_id)
    assert file.file_path is not None and file.file_size == len(ICS)
    assert bytes(await file.download_as_bytearray()) == ICS
    download_url = file.file_path  # PTB makes it the full link: {base_file_url}{token}/{file_path}
    assert download_url.startswith(f"{served.url}/file/bot{TOKEN}/documents/")
    async with httpx.AsyncClient() as http:
        assert (await http.get(download_url)).content == ICS
        wrong_token = await http.get(download_url.replace(TOKEN, "123:wrong"))
        unknown_path = await http.get(f"{served.url}/file/bot{TOKEN}/documents/file_99.ics")
    assert wrong_token.status_code == 404 and unknown_path.status_code == 404

    # A file_id sends the same file again, without an upload.
    again = await bot.send_document(ANN, document.file_id)
    assert again.document is not None and again.document.file_unique_id == document.file_unique_id
    logged = served.control.calls("sendDocument")[0].params["document"]
    assert logged == {"filename": "order-7.ics", "size": len(ICS)}


async def test_documents_are_refused_as_telegram_refuses_them(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_document(ANN, InputFile(b"", filename="empty.ics"))
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_document(ANN, "no-such-file-id")
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await bot.send_document(ANN, "https://example.com/order.ics")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(ANN, InputFile(ICS, filename="a.ics"), caption="x" * 1025)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_document(999, InputFile(ICS, filename="a.ics"))
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("no-such-file-id")
    with pytest.raises(TelegramError):
        await bot.send_document(ANN, InputFile(b"x" * (50 * 1024 * 1024 + 1), filename="big.bin"))
    big = [c for c in served.control.calls("sendDocument") if c.status == 413]
    assert big and big[0].description == "Request Entity Too Large"
    ann.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_document(ANN, InputFile(ICS, filename="a.ics"))
    assert [m for m in ann.bot_messages() if "document" in m.raw] == []
