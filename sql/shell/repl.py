"""The interactive prompt: prompt_toolkit line editing, persistent history, multi-line
statements (Enter runs the input once it ends with ``;``), completion and highlighting.

Ctrl-C clears a half-typed statement; at an empty prompt it warns once and the second
one exits, as does Ctrl-D. While a statement runs, Ctrl-C cancels it (see runner).
"""

from __future__ import annotations

import os
import sys

from sql.shell.runner import QuitShell, Runner, StopScript
from sql.shell.splitter import is_complete

PROMPT = "lamna> "
CONTINUATION = "    -> "


def history_path() -> str:
    return os.path.expanduser(os.environ.get("LAMNA_HISTORY", "~/.lamna_history"))


def _session(runner: Runner):  # type: ignore[no-untyped-def]
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.lexers import PygmentsLexer
    from pygments.lexers.sql import MySqlLexer  # backtick identifiers, like HiveQL's

    from sql.shell.completion import CatalogNames, SqlCompleter

    names = CatalogNames(runner.backend)
    runner.catalog_changed = names.invalidate
    keys = KeyBindings()

    @keys.add("enter")
    def _(event):  # type: ignore[no-untyped-def]
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion is not None:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        if is_complete(buffer.text) and buffer.document.is_cursor_at_the_end:
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @keys.add("escape", "enter")
    def _(event):  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")  # a newline even where Enter would run

    @keys.add("c-c")
    def _(event):  # type: ignore[no-untyped-def]
        buffer = event.current_buffer
        if buffer.text:
            buffer.reset()  # drop the half-typed statement, stay at the prompt
        else:
            event.app.exit(exception=KeyboardInterrupt())

    try:
        history = FileHistory(history_path())
    except OSError:
        history = InMemoryHistory()
    return PromptSession(
        history=history,
        lexer=PygmentsLexer(MySqlLexer),
        completer=SqlCompleter(names),
        complete_while_typing=False,
        auto_suggest=AutoSuggestFromHistory(),
        multiline=True,
        key_bindings=keys,
        prompt_continuation=lambda width, line, wrap: CONTINUATION,
        enable_history_search=False,
    )


def repl(runner: Runner) -> int:
    """Read and run statements until ``\\q``, Ctrl-D, or two Ctrl-C at an empty prompt."""
    session = _session(runner)
    print("Lamna SQL shell. End statements with ';'. \\? for help, \\q to quit.", flush=True)
    interrupted = False
    while True:
        try:
            # connect once the prompt is up: the engine's imports would otherwise delay it
            text = session.prompt(PROMPT, pre_run=runner.backend.start)
        except KeyboardInterrupt:
            if interrupted:
                return 0
            interrupted = True
            print("(Ctrl-C again, Ctrl-D or \\q to quit)", flush=True)
            continue
        except EOFError:
            return 0
        interrupted = False
        try:
            runner.run_text(text)
        except QuitShell:
            return 0
        except StopScript:  # only fatal errors stop an interactive session (lost connection)
            return 2
        except KeyboardInterrupt:  # Ctrl-C outside a statement (e.g. while printing)
            sys.stdout.write("\n")
            continue
