"""Every CLI command, argument and option explains itself; a registered blueprint is usable by name."""

import typer.main
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.pipeline.blueprint.load import load_builtin


def _missing_help() -> list[str]:
    out: list[str] = []

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors click, so no isinstance check)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        if not (command.help or "").strip():
            out.append(" ".join(path))
        out.extend(f"{' '.join(path)} {p.name}" for p in command.params if not getattr(p, "help", None))

    walk(typer.main.get_command(app), [])
    return out


def test_every_command_argument_and_option_has_a_help_line():
    assert _missing_help() == []


def test_a_registered_blueprint_is_listed_and_makes_movies_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVIE_ASSETS_ROOT", str(tmp_path / "builds"))
    data = load_builtin("audio-only").model_dump(by_alias=True)
    data["meta"]["id"] = "my-podcast"
    source = tmp_path / "my-podcast.yaml"
    source.write_text(type(load_builtin("audio-only")).model_validate(data).to_yaml())
    runner = CliRunner()
    registered = runner.invoke(app, ["blueprints", "register", str(source)])
    assert registered.exit_code == 0, registered.output
    assert (tmp_path / "builds" / ".blueprints" / "my-podcast.yaml").is_file()
    listed = runner.invoke(app, ["blueprints", "list"])
    assert "my-podcast" in listed.output and "registered" in listed.output
    made = runner.invoke(app, ["init", "pod", "-b", "my-podcast", "--set", "Title=Pod"])
    assert made.exit_code == 0, made.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: {id: x}\nproducers: [not, a, mapping]\n")
    refused = runner.invoke(app, ["blueprints", "register", str(bad)])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert not (tmp_path / "builds" / ".blueprints" / "x.yaml").exists()
