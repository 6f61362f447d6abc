"""`tamma config show`: the settings in effect, and where each secret would come from."""

from __future__ import annotations

import typer

from tamma.cli._output import JsonOutput, emit_json, examples, masked_url

app = typer.Typer(help="Inspect Tamma's configuration.", no_args_is_help=True)


@app.command("show", epilog=examples("tamma config show", "tamma config show --json"))
def show(as_json: JsonOutput = False) -> None:
    """Print the settings in effect as YAML; secrets only as set or missing, never their values.
    `database_url` is the event store in use (the default one when none is set), password masked."""
    from tamma.config import load_settings
    from tamma.providers._settings import api_key_for

    settings = load_settings()
    data = settings.model_dump(mode="json")
    data["database_url"] = masked_url(settings.event_store_url)
    data["secrets"] = {
        **{
            f"provider {p.display_name}": "set" if api_key_for(p) else f"missing ({p.key_env})"
            for p in settings.providers
        },
        "github token": "set" if settings.platforms.github.token() else "missing (GITHUB_TOKEN)",
        "gitlab token": "set" if settings.platforms.gitlab.token() else "missing (GITLAB_TOKEN)",
        "gitea token": "set" if settings.platforms.gitea.token() else "missing (GITEA_TOKEN)",
        "azure devops token": "set" if settings.platforms.azure.token() else "missing (AZURE_DEVOPS_TOKEN)",
        "bitbucket credentials": "set"
        if settings.platforms.bitbucket.secrets()
        else "missing (BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD)",
    }
    if as_json:
        emit_json(data)
        return
    import yaml

    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
