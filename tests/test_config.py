"""Configuration from the environment and --config, and which values count as secrets."""

from __future__ import annotations

from recipe_executor.config import build_config, is_secret_key, load_configuration, parse_bool, secret_values


def test_load_configuration_reads_known_variables_and_defaults() -> None:
    config = load_configuration(environ={"OPENAI_API_KEY": "sk-1"})
    assert config["openai_api_key"] == "sk-1"
    assert config["ollama_base_url"] == "http://localhost:11434"
    assert config["azure_use_managed_identity"] is False
    assert "anthropic_api_key" not in config


def test_load_configuration_copies_recipe_env_vars_lower_cased() -> None:
    config = load_configuration(["BRAVE_API_KEY", "UNSET_VAR"], environ={"BRAVE_API_KEY": "b-1"})
    assert config["brave_api_key"] == "b-1"
    assert "unset_var" not in config


def test_build_config_applies_cli_values_over_the_environment() -> None:
    cli = {"openai_api_key": "from-cli", "model": "openai/gpt-4o"}
    config = build_config([], cli, environ={"OPENAI_API_KEY": "env"})
    assert config["openai_api_key"] == "from-cli"
    assert config["model"] == "openai/gpt-4o"


def test_build_config_parses_boolean_keys_so_false_means_false() -> None:
    assert build_config([], {"azure_use_managed_identity": "false"}, environ={})["azure_use_managed_identity"] is False
    assert build_config([], {"azure_use_managed_identity": "TRUE"}, environ={})["azure_use_managed_identity"] is True


def test_build_config_parses_json_lists_and_objects_from_the_cli() -> None:
    config = build_config([], {"mcp_servers": '[{"url": "http://x", "ok": true}]', "plain": "[not json"}, environ={})
    assert config["mcp_servers"] == [{"url": "http://x", "ok": True}]
    assert config["plain"] == "[not json"


def test_parse_bool_accepts_common_spellings() -> None:
    assert [parse_bool(v) for v in ("1", "yes", "On", True, "0", "no", "", None, "maybe")] == [
        True, True, True, True, False, False, False, False, False,
    ]


def test_secret_values_cover_secret_keys_and_unknown_cli_values() -> None:
    config = {"openai_api_key": "sk-env", "model": "openai/gpt-4o", "brave": "bsk-123", "max_tokens": "1000",
              "flag": "true", "ollama_base_url": "http://localhost:11434"}
    secrets = secret_values(config, cli_keys=["model", "brave", "max_tokens", "flag"])
    assert secrets == ["bsk-123", "sk-env"]
    assert is_secret_key("GITHUB_TOKEN") and is_secret_key("db_password") and not is_secret_key("model")
