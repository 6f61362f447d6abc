"""`tamma config show`: the settings in effect, and where each secret would come from."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect Tamma's configuration.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print the settings in effect as YAML; secrets only as set or missing, never their values."""
    import yaml

    from tamma.config import load_settings
    from tamma.providers._settings import api_key_for

    settings = load_settings()
    data = settings.model_dump(mode="json")
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
    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
