"""Running git: argument lists only (never a shell string), a clean environment, clear errors,
and no command that a repository's own files name.

Code run in a workspace (its tests and build scripts, what the model writes) can write the
working tree and, without a sandbox, `.git/`, and git reads both. So every git Tamma runs gets
an environment of its own: PATH, an identity, the caller's variables and the hardening below,
which no caller can undo. HOME is a directory that does not exist (only root could create it),
so nothing of the user's (`~/.gitconfig`, `~/.config/git/attributes`) is read, and neither is the
system's config or attributes; replace refs are ignored, and git never prompts on a terminal.

It also gets `-c` overrides. They are read after every config file, so for a key with one value
they win over a repository's `.git/config`, and they reach the git processes git starts itself.
The keys that make git run a command, and how each is neutralized:

- hooks, all of them (`.git/hooks/*`, `core.hooksPath`): `core.hooksPath=/dev/null` finds none;
- `core.fsmonitor` (a hook on every index refresh): `core.fsmonitor=false`;
- `credential.helper` and `credential.<url>.helper`: `credential.helper=`, the empty value that
  resets the list, URL-scoped entries included;
- `core.askPass`: empty, so nothing (GIT_ASKPASS, set for credentialed commands, wins anyway);
- `core.editor`: `:` (every commit of Tamma's passes its message);
- `http.proxy`, `http.<url>.proxy`, `remote.origin.proxy` (where the password would go):
  `remote.origin.proxy=`, since a remote's proxy wins over `http.*` and empty means none;
- transports that run commands: `ext::`, remote helpers (`<helper>::<url>`,
  `remote.<name>.vcs`), ssh (`core.sshCommand`, `ssh.variant`), git:// (`core.gitProxy`):
  `protocol.allow=never`, then file, http and https always (Tamma's clone URLs are https,
  http or a local path);
- `fetch.recurseSubmodules` (on by default for moved submodules: a fetch inside a repository
  planted at a submodule's path, under that repository's config, with the password):
  `fetch.recurseSubmodules=false`;
- gpg and its kin (`gpg.program`, `gpg.<format>.program`, `gpg.ssh.defaultKeyCommand`), run to
  sign or verify: `commit.gpgSign`, `push.gpgSign` and `log.showSignature` false, and Tamma never
  tags, merges with verification or prints a signature;
- `core.pager`, `pager.<cmd>`: git's output is a pipe, so no pager runs.

`remote.<name>.uploadpack` and `receivepack` (the program a fetch or push over a local path
runs, with the password in its environment) keep their first value, so `-c` cannot override
them: the commands that run one get `--upload-pack` or `--receive-pack` with git's own instead.

What `-c` cannot reach is left to `tamma.agent._gitdir`, which refuses a workspace whose
`.git/config` holds any key its clone did not write: families named by the repository
(`filter.<driver>.clean|smudge|process`, `diff.<driver>.command|textconv`,
`merge.<driver>.driver`, each chosen by a `.gitattributes`), list-valued keys
(`url.<base>.insteadOf|pushInsteadOf`, `include.path`, `includeIf.<condition>.path`, a second
`remote.origin.url`), URL-scoped `http.<url>.*` (`curloptResolve`, `sslVerify`), `core.worktree`,
and `diff.external`, whose empty value makes git try to run "" (Tamma's own diffs are `--quiet`
or `--no-patch`, which never run it). `alias.*` cannot shadow the built-in commands Tamma runs;
`uploadpack.packObjectsHook` is read only from the system, global and command-line config, all
ours; `core.alternateRefsCommand` needs alternates, which the check refuses.

Not set: GIT_PROTOCOL_FROM_USER=0, which only restricts protocols at the `user` policy, where
these overrides leave none.

Text from elsewhere that git records (a commit message holding an issue title) goes through
`message_text` first: no argument can carry a NUL, and a lone surrogate is not UTF-8.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tamma.errors import PlatformError
from tamma.redaction import redact
from tamma.text import encodable

__all__ = ["git", "message_text"]

GIT_TIMEOUT_S = 120
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Tamma",
    "GIT_AUTHOR_EMAIL": "tamma@localhost",
    "GIT_COMMITTER_NAME": "Tamma",
    "GIT_COMMITTER_EMAIL": "tamma@localhost",
}
_HARDENED_ENV = {
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
_OVERRIDES = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "credential.helper=",
    "core.askPass=",
    "core.editor=:",
    "remote.origin.proxy=",
    "protocol.allow=never",
    "protocol.file.allow=always",
    "protocol.http.allow=always",
    "protocol.https.allow=always",
    "fetch.recurseSubmodules=false",
    "commit.gpgSign=false",
    "push.gpgSign=false",
    "log.showSignature=false",
)
_CONFIG_ARGS = tuple(arg for override in _OVERRIDES for arg in ("-c", override))
_UPLOAD_PACK = ("--upload-pack=git-upload-pack",)
_TRANSPORT_ARGS = {
    "clone": _UPLOAD_PACK,
    "fetch": _UPLOAD_PACK,
    "ls-remote": _UPLOAD_PACK,
    "pull": _UPLOAD_PACK,
    "push": ("--receive-pack=git-receive-pack",),
}


def git(
    *args: str, cwd: Path | None = None, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`git args...` hardened as the module docstring says; a failure raises PlatformError with
    git's own message (redacted).

    `env` adds variables (an author identity, GIT_ASKPASS and the secret it reads) to the clean
    base environment; nothing else of the caller's environment reaches git.
    """
    verb, *rest = args
    result = subprocess.run(
        ["git", *_CONFIG_ARGS, verb, *_TRANSPORT_ARGS.get(verb, ()), *rest],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **_IDENTITY, **(env or {}), **_HARDENED_ENV},
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PlatformError(
            redact(f"git {verb} failed: {detail[-1] if detail else result.returncode}"), platform="git"
        )
    return result


def message_text(text: str) -> str:
    """`text` as git can take it in a message: NUL as U+2400 "␀" and each lone surrogate as
    U+FFFD, the event store's own mapping (`event_store._json`). So a replay, which reads the
    issue from the store, builds the same message and makes the same commit as the run did."""
    return encodable(text.replace("\x00", "\u2400"))
