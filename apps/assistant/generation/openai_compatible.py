"""The openai backend: any server that speaks OpenAI's chat completions (vLLM, Ollama, llama.cpp's server, a
hosted API), through the standard library's urllib, so it needs no client package and no torch."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from apps.assistant.generation.base import GenerationError
from apps.assistant.generation.checks import unfinished_sentence_cut

ERROR_BODY_CHARS = 200  # of a failed response, kept in the reason for whoever reads the logs


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # up to and including the version, e.g. http://127.0.0.1:11434/v1
    model: str
    api_key: str = ""  # sent as a bearer token when set; local servers need none
    # Seconds per wait on the socket: connecting, then the reply, which a non-streamed completion sends whole.
    timeout: float = 10.0

    @property
    def completions_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


def openai_generate(*, endpoint: Endpoint, messages: list[dict[str, str]], max_tokens: int) -> str:
    """The completion's text, or GenerationError naming what went wrong (unset, HTTP status, timeout, bad JSON)."""
    if not endpoint.base_url.startswith(("http://", "https://")):
        raise GenerationError(f"HELPDESK_OPENAI_BASE_URL must be an http(s) URL, got {endpoint.base_url!r}")
    if not endpoint.model:
        raise GenerationError("HELPDESK_OPENAI_MODEL is not set")
    body = {"model": endpoint.model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}
    return _completion_text(_post(endpoint, body), endpoint.completions_url)


def _post(endpoint: Endpoint, body: dict) -> bytes:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    url = endpoint.completions_url
    # openai_generate let only http(s) through, never file:// from a mistyped setting.
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=endpoint.timeout) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:ERROR_BODY_CHARS].decode(errors="replace").strip()
        raise GenerationError(f"HTTP {exc.code} from {url}" + (f": {detail}" if detail else "")) from exc
    except TimeoutError as exc:
        raise GenerationError(f"no answer from {url} within {endpoint.timeout:g} s") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise GenerationError(f"no answer from {url} within {endpoint.timeout:g} s") from exc
        raise GenerationError(f"cannot reach {url}: {exc.reason}") from exc
    except OSError as exc:  # a connection reset while reading
        raise GenerationError(f"cannot reach {url}: {exc}") from exc


def _completion_text(raw: bytes, url: str) -> str:
    excerpt = raw[:ERROR_BODY_CHARS].decode(errors="replace")
    try:
        completion = json.loads(raw)
    except ValueError as exc:
        raise GenerationError(f"bad JSON from {url}: {excerpt}") from exc
    try:
        choice = completion["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise GenerationError(f"not a chat completion from {url}: {excerpt}") from exc
    if not isinstance(content, str):
        raise GenerationError(f"the completion's content is {type(content).__name__}, not text")
    return unfinished_sentence_cut(content) if choice.get("finish_reason") == "length" else content
