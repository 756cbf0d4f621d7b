"""The mock Slack Web API itself, driven by slack_sdk's WebClient."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from tests.support.mock_slack import MockSlack


@pytest.fixture()
def mock():
    with MockSlack() as slack:
        yield slack


def test_records_calls_and_checks_tokens(mock):
    client = WebClient(token=mock.bot_token, base_url=mock.api_url)
    assert client.auth_test()["user_id"] == mock.bot_user_id
    posted = client.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "divider"}])
    client.chat_update(channel="C1", ts=posted["ts"], text="edited")
    mock.add_user("UADMIN", is_admin=True)
    assert client.users_info(user="UADMIN")["user"]["is_admin"] is True
    [post] = mock.calls_of("chat.postMessage")
    assert post.params["blocks"] == [{"type": "divider"}] and post.token == mock.bot_token
    assert mock.methods() == ["auth.test", "chat.postMessage", "chat.update", "users.info"]
    with pytest.raises(SlackApiError, match="invalid_auth"):
        WebClient(token="xoxb-wrong", base_url=mock.api_url).auth_test()


def test_injected_failures_then_success(mock):
    mock.fail_next("chat.postMessage", 500, times=2)
    client = WebClient(
        token=mock.bot_token, base_url=mock.api_url, retry_handlers=[ServerErrorRetryHandler(max_retry_count=2)]
    )
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.status for c in mock.calls_of("chat.postMessage", failed=True)] == [500, 500, 200]
    mock.fail_next("views.publish", 429)
    with pytest.raises(SlackApiError) as err:
        WebClient(token=mock.bot_token, base_url=mock.api_url, retry_handlers=[]).views_publish(
            user_id="U1", view={"type": "home", "blocks": []}
        )
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "1"


def test_file_downloads_need_the_bot_token(mock):
    url = mock.add_file("policy.md", b"# Policy\n", "text/markdown")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {mock.bot_token}"})
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"# Policy\n" and response.headers["Content-Type"] == "text/markdown"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url)
    assert err.value.code == 403
    assert [d.status for d in mock.downloads] == [200, 403]
