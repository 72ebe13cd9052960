"""The matter catalog and department settings: loaded, cross-checked, and wrong files named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.model.configfiles import ConfigError
from hub.model.configuration import load_config
from tests.conftest import CONFIG


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped configuration to break."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace one piece of a configuration file, failing if it is not there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def problems(config_dir: Path) -> list[tuple[str, str, str]]:
    """(file name, key, message) of every problem loading the directory reports."""
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return [(p.file.name, p.key, p.message) for p in info.value.problems]


def test_shipped_catalog_has_its_matters_in_dag_order() -> None:
    """The shipped configuration loads, and business.startup runs market regulation first."""
    config = load_config(CONFIG)
    assert set(config.catalog.matters) == {
        "household.transfer",
        "business.startup",
        "social_security.card",
        "housing_fund.account",
    }
    startup = config.catalog["business.startup"]
    order = [s.name for s in startup.ordered_steps()]
    assert order[0] == "company_registration"
    assert set(order[1:]) == {"seal_engraving", "tax_registration", "employer_registration"}
    for name in order[1:]:
        assert startup.steps[name].uses["credit_code"] == "company_registration.credit_code"
    # Social insurance dates the employer from the licence, not from the day the hub sends.
    assert startup.steps["employer_registration"].uses["founded_on"] == (
        "company_registration.founded_on"
    )
    transfer = config.catalog["household.transfer"]
    assert [s.department for s in transfer.ordered_steps()] == [
        "public_security",
        "social_security",
    ]
    assert transfer.promised_days < transfer.statutory_days


def test_later_steps_wait_for_approval_unless_receipt_is_declared() -> None:
    """The shipped matters wait for approvals: company start-up's later steps for
    registration's, household transfer's insurance step for the police's."""
    config = load_config(CONFIG)
    startup = config.catalog["business.startup"]
    for name in ("seal_engraving", "tax_registration", "employer_registration"):
        step = startup.steps[name]
        assert (step.after, step.after_received) == (("company_registration",), ())
    insurance = config.catalog["household.transfer"].steps["insurance_transfer"]
    assert (insurance.after, insurance.after_received) == (("household_registration",), ())


def test_after_received_counts_in_the_order_and_for_uses(config_dir: Path) -> None:
    """A step after another on its receipt runs after it, and may read its outputs."""
    edit(
        config_dir / "matters/household.transfer.toml",
        'after = ["household_registration"]',
        'after_received = ["household_registration"]',
    )
    transfer = load_config(config_dir).catalog["household.transfer"]
    insurance = transfer.steps["insurance_transfer"]
    assert (insurance.after, insurance.after_received) == ((), ("household_registration",))
    assert [s.name for s in transfer.ordered_steps()] == [
        "household_registration",
        "insurance_transfer",
    ]


def test_a_step_in_both_after_and_after_received_is_named(config_dir: Path) -> None:
    """Waiting for a step's approval and for its receipt alone contradict: file and key named."""
    edit(
        config_dir / "matters/household.transfer.toml",
        'after = ["household_registration"]',
        'after = ["household_registration"]\nafter_received = ["household_registration"]',
    )
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("household.transfer.toml", "steps.insurance_transfer.after_received[0]")
    assert "both" in message and "household_registration" in message


def test_after_received_naming_no_step_is_named(config_dir: Path) -> None:
    """after_received lists steps of the matter, like after."""
    edit(
        config_dir / "matters/household.transfer.toml",
        'after = ["household_registration"]',
        'after_received = ["household_move"]',
    )
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("household.transfer.toml", "steps.insurance_transfer.after_received[0]")
    assert "household_move" in message


def test_cycle_through_after_received_is_reported(config_dir: Path) -> None:
    """A cycle closed by after_received is a cycle too, reported at the list that closes it."""
    edit(
        config_dir / "matters/household.transfer.toml",
        'operation = "household_transfer"',
        'operation = "household_transfer"\nafter_received = ["insurance_transfer"]',
    )
    [(file, key, message)] = problems(config_dir)
    assert file == "household.transfer.toml"
    assert key in (
        "steps.household_registration.after_received",
        "steps.insurance_transfer.after",
    )
    assert "cycle" in message


def test_unknown_department_is_named_with_file_and_key(config_dir: Path) -> None:
    """A step naming a department that has no file is reported at steps.<name>.department."""
    edit(
        config_dir / "matters/social_security.card.toml",
        'department = "social_security"',
        'department = "city_archives"',
    )
    [(file, key, message)] = problems(config_dir)
    assert file == "social_security.card.toml"
    assert key == "steps.card_application.department"
    assert "city_archives" in message


def test_cycle_in_after_is_reported(config_dir: Path) -> None:
    """Two steps that wait for each other form a cycle, reported with the steps named."""
    path = config_dir / "matters/household.transfer.toml"
    edit(
        path,
        'operation = "household_transfer"',
        'operation = "household_transfer"\nafter = ["insurance_transfer"]',
    )
    [(file, key, message)] = problems(config_dir)
    assert file == "household.transfer.toml"
    assert key.startswith("steps.")
    assert key.endswith(".after")
    assert "cycle" in message
    assert "household_registration" in message
    assert "insurance_transfer" in message


def test_unknown_field_type_is_reported(config_dir: Path) -> None:
    """A form field with a type the hub does not know is reported at fields.<name>.type."""
    edit(config_dir / "matters/social_security.card.toml", 'type = "choice"', 'type = "colour"')
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("social_security.card.toml", "fields.bank.type")
    assert "choice" in message  # the message lists what is allowed


def test_after_naming_no_step_is_reported(config_dir: Path) -> None:
    """after = [...] must name steps of the same matter."""
    edit(
        config_dir / "matters/household.transfer.toml",
        'after = ["household_registration"]',
        'after = ["household_registraton"]',
    )
    [(_file, key, message)] = problems(config_dir)
    assert key == "steps.insurance_transfer.after[0]"
    assert "household_registraton" in message


def test_uses_must_read_an_upstream_step(config_dir: Path) -> None:
    """A step may only read outputs of steps it runs after."""
    path = config_dir / "matters/business.startup.toml"
    edit(
        path,
        'uses = { credit_code = "company_registration.credit_code" }',
        'uses = { credit_code = "tax_registration.credit_code" }',
    )
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("business.startup.toml", "steps.seal_engraving.uses.credit_code")
    assert "tax_registration" in message


def test_promised_limit_longer_than_statutory_is_refused(config_dir: Path) -> None:
    """The promised time limit is the shorter one."""
    edit(
        config_dir / "matters/social_security.card.toml", "promised_days = 10", "promised_days = 30"
    )
    [(file, _key, message)] = problems(config_dir)
    assert file == "social_security.card.toml"
    assert "promised_days" in message


def test_misspelt_key_is_reported(config_dir: Path) -> None:
    """An unknown key is an error, not silently ignored."""
    edit(config_dir / "departments/tax.toml", "concurrency = 4", "concurency = 4")
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("tax.toml", "concurency")
    assert "unknown key" in message


def test_a_store_pool_without_connections_is_refused(config_dir: Path) -> None:
    """hub.toml's settings are checked like the rest: file, key, and what is allowed."""
    edit(config_dir / "hub.toml", "work_connections = 10", "work_connections = 0")
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("hub.toml", "store.work_connections")
    assert "greater than or equal to 1" in message


def test_missing_credential_variable_names_the_variable(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset credential variable is reported with the variable's name, and nothing else."""
    monkeypatch.delenv("HUB_TAX_PASSWORD")
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("tax.toml", "credentials.password.env")
    assert "HUB_TAX_PASSWORD" in message


def test_secret_written_in_the_file_is_refused(config_dir: Path) -> None:
    """Credentials name environment variables; a literal secret in the file is an error."""
    edit(
        config_dir / "departments/tax.toml",
        'password.env = "HUB_TAX_PASSWORD"',
        'password = "hunter2"',
    )
    [(file, key, message)] = problems(config_dir)
    assert (file, key) == ("tax.toml", "credentials")
    assert "environment variable" in message
    assert "hunter2" not in message


def test_toml_syntax_error_names_the_file(config_dir: Path) -> None:
    """A file that is not TOML is named, with the parser's line."""
    (config_dir / "matters/social_security.card.toml").write_text("name = \n")
    [(file, _key, message)] = problems(config_dir)
    assert file == "social_security.card.toml"
    assert "not valid TOML" in message
    assert "line 1" in message


def test_every_problem_in_every_file_is_reported_at_once(config_dir: Path) -> None:
    """Three broken files give three problems in one error."""
    edit(config_dir / "departments/tax.toml", "concurrency = 4", "concurrency = 0")
    edit(config_dir / "matters/social_security.card.toml", 'type = "choice"', 'type = "colour"')
    edit(
        config_dir / "departments/market_regulation.toml",
        'endpoint = "http://',
        'endpoint = "ftp://',
    )
    found = {(file, key) for file, key, _ in problems(config_dir)}
    assert found == {
        ("tax.toml", "concurrency"),
        ("social_security.card.toml", "fields.bank.type"),
        ("market_regulation.toml", "endpoint"),
    }
