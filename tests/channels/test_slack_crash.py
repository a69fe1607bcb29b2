"""A `backoffice run` process killed (SIGKILL: no clean-up at all) after Slack got its 200 for an event, in the
middle of answering it: the next start takes the event over once the dead worker's claim has run out, and Slack
gets the answer once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.service import configured_service
from bot.settings import load_settings
from nlu import Interpreter
from storage import inbox
from storage.base import utcnow
from storage.database import Database
from storage.inbox import InboxStatus, InboxUpdate
from tests.channels.slack_events import ALICE_DM, SECRET, dm, prepare_company, signed
from tests.channels.slack_fake import FakeSlack
from tests.running import listening_url, serving, until


async def inbox_rows(database_url: str) -> list[InboxUpdate]:
    database = Database(database_url)
    try:
        async with database.reading() as session:
            return list(await session.scalars(select(InboxUpdate)))
    finally:
        await database.dispose()


async def test_an_event_whose_process_was_killed_after_the_ack_is_answered_once_after_the_restart(
    tmp_path: Path, nlu_model_file: Path, interpreter: Interpreter
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "nlu").mkdir(parents=True)
    shutil.copy(nlu_model_file, data_dir / "nlu" / "model.joblib")  # the trained model: no retraining in the child
    database_url = f"sqlite:///{data_dir / 'backoffice.sqlite3'}"
    await prepare_company(database_url)
    log_file = tmp_path / "service.log"
    async with FakeSlack() as slack:
        environment = {
            **os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0", "SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.url, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        with log_file.open("wb") as log_output:
            child = subprocess.Popen(
                [sys.executable, "-c", "from bot.cli import main; main()", "run"],
                cwd=tmp_path, env=environment, stdout=log_output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        try:
            url = await listening_url(log_file, child)
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                async with asyncio.timeout(60):
                    while (await http.get("/readyz")).status_code != 200:
                        await asyncio.sleep(0.1)
                slack.hold("chat.postMessage")  # the answer gets as far as Slack, which doesn't reply yet
                body = dm("EvKilled", "hi")
                assert (await http.post("/slack/events", content=body, headers=signed(body))).status_code == 200
            await until(lambda: bool(slack.calls_to("chat.postMessage")))
            child.send_signal(signal.SIGKILL)
            await asyncio.to_thread(child.wait, 15)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(5)
        # The post the dead process had in flight never completes: its connection is gone with the process.
        slack.release("chat.postMessage")
        await until(lambda: bool(slack.messages))
        slack.messages.clear()
        [row] = await inbox_rows(database_url)
        assert row.status is InboxStatus.PENDING and row.claimed_by  # claimed by the dead worker, not done

        # The next start: once the dead worker's lease has run out, the event is taken over and answered.
        after_the_lease = utcnow() + inbox.LEASE + timedelta(seconds=5)
        settings = load_settings(database_url=database_url, data_dir=data_dir, http_host="127.0.0.1", http_port=0,
                                 slack_bot_token=slack.token, slack_signing_secret=SECRET, slack_api_url=slack.url)
        async with serving(configured_service(settings, interpreter=interpreter, clock=lambda: after_the_lease)):
            await until(lambda: bool(slack.posted(ALICE_DM)))
            await asyncio.sleep(0.5)  # time enough for a second answer, were there one
        assert len(slack.posted(ALICE_DM)) == 1
        [row] = await inbox_rows(database_url)
        assert row.status is InboxStatus.DONE
