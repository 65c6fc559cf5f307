"""docs/api.md stays in step with the SQL under db/ (pure file parsing, no database).

* every ``CREATE FUNCTION api.<name>`` under db/functions has a ``### api.<name>`` section, and every such
  heading is an api function or a view under db/views;
* every view under db/views is documented;
* every LP code mentioned in docs/api.md exists in the catalogue of docs/errors.md;
* each function's section names every LP code that appears in the function's own SQL file, every ``p_``
  argument of its signature and every database role its GRANT line names, and opens with a SQL block that is
  the function's signature as db/ declares it (arguments, types, defaults, RETURNS), whitespace aside;
* each view's section names every database role its GRANT SELECT line names;
* every composite type of db/schema/50_api_types.sql has a ``### Row type api.<name>`` section whose field
  table lists exactly its fields and types, in order;
* SQL examples call api functions only with argument names those functions have;
* the idempotency scopes docs/api.md names are exactly those of the transitions under db/functions, each
  transition's key is documented per caller, or as the back office's for the scopes (payment webhooks, payout
  processing) ``lp.idempotency_slot`` lists (as it keys them; those functions are granted to
  ``livepanty_service`` alone), and nothing says a transition's key space is shared by several callers;
* Python examples parse, each section shows the client method named after its function, and (when
  livepanty_db.client can be imported) every ``client.<method>(...)`` / ``tx.<method>(...)`` call in them fits
  the signature of ``Client`` / ``Transaction``.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "db" / "functions"
VIEWS_DIR = ROOT / "db" / "views"
API_TYPES = ROOT / "db" / "schema" / "50_api_types.sql"
API_DOC = ROOT / "docs" / "api.md"
ERRORS_DOC = ROOT / "docs" / "errors.md"

LP_CODE = re.compile(r"\bLP\d{3}\b")
CREATE_FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+api\.(\w+)\s*\(", re.IGNORECASE)
CREATE_VIEW = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+api\.(\w+)", re.IGNORECASE)
GRANT_EXECUTE = re.compile(
    r"GRANT\s+EXECUTE\s+ON\s+FUNCTION\s+api\.(\w+)\s*\([^)]*\)\s+TO\s+([^;]+);", re.IGNORECASE
)
GRANT_SELECT_VIEW = re.compile(r"GRANT\s+SELECT\s+ON\s+api\.(\w+)\s+TO\s+([^;]+);", re.IGNORECASE)
CREATE_TYPE = re.compile(r"CREATE\s+TYPE\s+api\.(\w+)\s+AS\s*\((.*?)\);", re.IGNORECASE | re.DOTALL)
ROW_TYPE_HEADING = re.compile(r"^Row type api\.(\w+)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
API_HEADING = re.compile(r"^api\.(\w+)$")
FENCE = re.compile(r"^```(\w*)")


def _matching_paren(text: str, open_index: int) -> int:
    """Index of the parenthesis closing the one at ``open_index`` (quotes are not special in our SQL)."""
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced parentheses after offset {open_index}")


def _normalize_sql(text: str) -> str:
    """``text`` with runs of whitespace collapsed and none just inside parentheses or before commas."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    return re.sub(r"\s+,", ",", text)


@dataclass(frozen=True)
class ApiFunction:
    name: str
    path: Path
    text: str
    arguments: tuple[str, ...]
    granted_to: tuple[str, ...]
    signature: str

    @property
    def codes(self) -> set[str]:
        return set(LP_CODE.findall(self.text))


@cache
def api_functions() -> dict[str, ApiFunction]:
    functions: dict[str, ApiFunction] = {}
    for path in sorted(FUNCTIONS_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        for match in CREATE_FUNCTION.finditer(text):
            name = match.group(1)
            signature = text[match.end() - 1 : _matching_paren(text, match.end() - 1) + 1]
            arguments = tuple(dict.fromkeys(re.findall(r"\b(p_\w+)", signature)))
            roles = tuple(
                role.strip()
                for grant in GRANT_EXECUTE.finditer(text)
                if grant.group(1) == name
                for role in grant.group(2).split(",")
            )
            returns = re.match(
                r"\s*(RETURNS\s.*?)\s+LANGUAGE\b", text[match.end() - 1 + len(signature) :], re.DOTALL
            )
            assert returns, f"{path.name}: no RETURNS ... LANGUAGE after the signature of api.{name}"
            declared = _normalize_sql(f"api.{name}{signature} {returns.group(1)}")
            assert name not in functions, f"api.{name} is created in two files"
            functions[name] = ApiFunction(name, path, text, arguments, roles, declared)
    return functions


@cache
def api_views() -> set[str]:
    views: set[str] = set()
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        views.update(CREATE_VIEW.findall(path.read_text(encoding="utf-8")))
    return views


@cache
def view_grants() -> dict[str, tuple[str, ...]]:
    grants: dict[str, tuple[str, ...]] = {}
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        for grant in GRANT_SELECT_VIEW.finditer(path.read_text(encoding="utf-8")):
            grants[grant.group(1)] = grants.get(grant.group(1), ()) + tuple(
                role.strip() for role in grant.group(2).split(",")
            )
    return grants


@cache
def api_types() -> dict[str, list[tuple[str, str]]]:
    """Fields (name, type) of every ``CREATE TYPE api.<name> AS (...)`` in db/schema/50_api_types.sql."""
    types: dict[str, list[tuple[str, str]]] = {}
    for match in CREATE_TYPE.finditer(API_TYPES.read_text(encoding="utf-8")):
        fields = []
        for field in match.group(2).split(","):
            name, _, type_ = field.strip().partition(" ")
            fields.append((name, _normalize_sql(type_)))
        types[match.group(1)] = fields
    return types


@cache
def doc_lines() -> tuple[str, ...]:
    return tuple(API_DOC.read_text(encoding="utf-8").splitlines())


@cache
def doc_headings() -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside code blocks."""
    headings = []
    in_code = False
    for index, line in enumerate(doc_lines()):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if not in_code and (match := HEADING.match(line)):
            headings.append((index, len(match.group(1)), match.group(2).strip("` ")))
    return headings


@cache
def api_sections() -> dict[str, str]:
    """Text of every ``### api.<name>`` section, up to the next heading of level 2 or 3."""
    headings = doc_headings()
    sections: dict[str, str] = {}
    for position, (start, level, title) in enumerate(headings):
        match = API_HEADING.match(title)
        if level != 3 or not match:
            continue
        end = next((line for line, lvl, _ in headings[position + 1 :] if lvl <= 3), len(doc_lines()))
        name = match.group(1)
        assert name not in sections, f"### api.{name} appears twice in docs/api.md"
        sections[name] = "\n".join(doc_lines()[start:end])
    return sections


@cache
def row_type_sections() -> dict[str, str]:
    """Text of every ``### Row type api.<name>`` section, up to the next heading of level 2 or 3."""
    headings = doc_headings()
    sections: dict[str, str] = {}
    for position, (start, level, title) in enumerate(headings):
        match = ROW_TYPE_HEADING.match(title)
        if level != 3 or not match:
            continue
        end = next((line for line, lvl, _ in headings[position + 1 :] if lvl <= 3), len(doc_lines()))
        name = match.group(1)
        assert name not in sections, f"### Row type api.{name} appears twice in docs/api.md"
        sections[name] = "\n".join(doc_lines()[start:end])
    return sections


@cache
def catalogue_codes() -> set[str]:
    codes = set()
    for line in ERRORS_DOC.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^\|\s*(LP\d{3})\s*\|", line):
            codes.add(match.group(1))
    return codes


def code_blocks(language: str) -> list[str]:
    """Contents of every fenced code block of docs/api.md tagged with ``language``."""
    blocks: list[str] = []
    current: list[str] | None = None
    tag = ""
    for line in doc_lines():
        fence = FENCE.match(line)
        if fence and current is None:
            current, tag = [], fence.group(1)
        elif fence:
            if tag == language:
                blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    assert current is None, "docs/api.md has an unclosed code block"
    return blocks


def test_sources_found() -> None:
    assert api_functions(), "no CREATE FUNCTION api.* under db/functions"
    assert api_views(), "no CREATE VIEW api.* under db/views"
    assert catalogue_codes(), "no LP codes in the table of docs/errors.md"


def test_every_api_function_is_documented() -> None:
    missing = sorted(set(api_functions()) - set(api_sections()))
    assert not missing, f"api functions without a '### api.<name>' section in docs/api.md: {missing}"


def test_every_view_is_documented() -> None:
    missing = sorted(api_views() - set(api_sections()))
    assert not missing, f"views without a '### api.<name>' section in docs/api.md: {missing}"


def test_every_documented_name_exists() -> None:
    unknown = sorted(set(api_sections()) - set(api_functions()) - api_views())
    assert not unknown, f"docs/api.md documents api objects that db/ does not define: {unknown}"


def test_every_lp_code_in_the_reference_is_in_the_catalogue() -> None:
    mentioned = set(LP_CODE.findall(API_DOC.read_text(encoding="utf-8")))
    unknown = sorted(mentioned - catalogue_codes())
    assert not unknown, f"docs/api.md mentions codes missing from docs/errors.md: {unknown}"


@pytest.mark.parametrize("name", sorted(api_functions()))
def test_section_lists_the_codes_of_its_sql_file(name: str) -> None:
    function = api_functions()[name]
    section = api_sections().get(name, "")
    missing = sorted(function.codes - set(LP_CODE.findall(section)))
    assert not missing, (
        f"### api.{name} does not mention {missing}, which {function.path.name} raises or names"
    )


@pytest.mark.parametrize("name", sorted(api_functions()))
def test_section_names_every_argument(name: str) -> None:
    section = api_sections().get(name, "")
    missing = [arg for arg in api_functions()[name].arguments if not re.search(rf"\b{arg}\b", section)]
    assert not missing, f"### api.{name} does not name the arguments {missing}"


@pytest.mark.parametrize("name", sorted(api_functions()))
def test_section_names_the_granted_database_roles(name: str) -> None:
    function = api_functions()[name]
    assert function.granted_to, f"{function.path.name} has no GRANT EXECUTE line"
    section = api_sections().get(name, "")
    missing = [role for role in function.granted_to if role not in section]
    assert not missing, f"### api.{name} does not say that {missing} may call it"


@pytest.mark.parametrize("name", sorted(api_functions()))
def test_section_shows_the_declared_signature(name: str) -> None:
    section = api_sections().get(name, "")
    block = re.search(r"^```sql\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert block, f"### api.{name} has no SQL block"
    documented = _normalize_sql(block.group(1))
    declared = api_functions()[name].signature
    assert documented == declared, (
        f"### api.{name}: the first SQL block is\n  {documented}\nbut db/ declares\n  {declared}"
    )


@pytest.mark.parametrize("name", sorted(api_views()))
def test_view_section_names_the_granted_database_roles(name: str) -> None:
    granted = view_grants().get(name, ())
    assert granted, f"api.{name} has no GRANT SELECT line under db/views"
    section = api_sections().get(name, "")
    missing = [role for role in granted if role not in section]
    assert not missing, f"### api.{name} does not say that {missing} may read it"


def test_every_row_type_is_documented() -> None:
    assert api_types(), f"no CREATE TYPE api.* in {API_TYPES.name}"
    missing = sorted(set(api_types()) - set(row_type_sections()))
    assert not missing, f"row types without a '### Row type api.<name>' section in docs/api.md: {missing}"
    unknown = sorted(set(row_type_sections()) - set(api_types()))
    assert not unknown, f"docs/api.md documents row types that db/ does not define: {unknown}"


@pytest.mark.parametrize("name", sorted(api_types()))
def test_row_type_section_lists_its_fields(name: str) -> None:
    section = row_type_sections().get(name, "")
    documented = [
        (match.group(1), _normalize_sql(match.group(2)))
        for match in re.finditer(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", section, re.MULTILINE)
    ]
    assert documented == api_types()[name], (
        f"### Row type api.{name} lists {documented}, db/ declares {api_types()[name]}"
    )


def test_sql_examples_use_real_argument_names() -> None:
    functions = api_functions()
    problems = []
    for block in code_blocks("sql"):
        for call in re.finditer(r"\bapi\.(\w+)\s*\(", block):
            name = call.group(1)
            if name not in functions:
                if name not in api_views():
                    problems.append(f"unknown function api.{name}")
                continue
            arguments = block[call.end() - 1 : _matching_paren(block, call.end() - 1) + 1]
            for used in re.findall(r"\b(p_\w+)\s*=>", arguments):
                if used not in functions[name].arguments:
                    problems.append(f"api.{name} has no argument {used}")
    assert not problems, "; ".join(problems)


def test_python_examples_parse() -> None:
    blocks = code_blocks("python")
    assert blocks, "docs/api.md has no python examples"
    for block in blocks:
        ast.parse(block)


@pytest.mark.parametrize("name", sorted(api_functions()))
def test_section_shows_the_python_method(name: str) -> None:
    section = api_sections().get(name, "")
    assert re.search(rf"\b(?:client|tx)\.{name}\(", section), (
        f"### api.{name} shows no Python call of {name}()"
    )


def test_python_examples_match_the_client() -> None:
    client_module = pytest.importorskip("livepanty_db.client")
    receivers = {
        "client": client_module.Client,
        "service": client_module.Client,
        "tx": client_module.Transaction,
    }
    problems = []
    for block in code_blocks("python"):
        for node in ast.walk(ast.parse(block)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in receivers
            ):
                continue
            receiver, method = node.func.value.id, node.func.attr
            target = getattr(receivers[receiver], method, None)
            if target is None:
                problems.append(f"{receiver}.{method} does not exist")
                continue
            keywords = {keyword.arg: None for keyword in node.keywords if keyword.arg is not None}
            try:
                inspect.signature(target).bind(None, *[None] * len(node.args), **keywords)
            except TypeError as exc:
                problems.append(f"{receiver}.{method}(...): {exc}")
    assert not problems, "; ".join(problems)


# -- Idempotency scopes of the transitions ---------------------------------------------------------------
# lp.idempotency_slot keys every transition per caller (the acting user's id, or 'service' when nobody
# acts), except the scopes it lists (payment webhooks, payout processing), which are the back office's
# whoever it acts as. So docs/api.md must neither claim that a scope is shared across callers nor name a
# scope the code does not have, must document each scope as the slot keys it, and a back-office scope must
# belong to a function only livepanty_service may run (else one user's key could answer another's call).

SLOT_FILE = FUNCTIONS_DIR / "lp.idempotency_slot.sql"
#: ``CASE WHEN p_scope = ANY (ARRAY['payments.complete', ...]) THEN 'service'``
SERVICE_SCOPES = re.compile(
    r"p_scope\s*=\s*ANY\s*\(\s*ARRAY\[([^\]]*)\]\s*\)\s*THEN\s*'service'", re.IGNORECASE
)
BACK_OFFICE_KEYS = "the back office's keys whoever it acts as"

#: ``v_scope constant text := 'payments.complete'`` or ``lp.idempotency_begin('holds.release', ...)``
SCOPE_CONSTANT = re.compile(r"\bv_scope\s+(?:constant\s+)?text\s*:=\s*'([a-z_]+\.[a-z_]+)'", re.IGNORECASE)
SCOPE_LITERAL = re.compile(r"\blp\.idempotency_begin\(\s*'([a-z_]+\.[a-z_]+)'", re.IGNORECASE)
#: "scope `payouts.approve`" in docs/api.md
DOC_SCOPE = re.compile(r"\bscope `([a-z_]+\.[a-z_]+)`")
#: Wording that says one key space spans several callers.
SHARED_KEYS = re.compile(
    r"\bshared\b|\bglobally unique\b|\ball (?:callers|admins|users)\b|\bby another (?:user|admin|caller)\b",
    re.IGNORECASE,
)


@cache
def transition_scopes() -> dict[str, str]:
    """Scope -> api function, for every api function that records a transition with lp.idempotency_begin."""
    scopes: dict[str, str] = {}
    for name, function in api_functions().items():
        for scope in SCOPE_CONSTANT.findall(function.text) + SCOPE_LITERAL.findall(function.text):
            assert scopes.get(scope, name) == name, f"scope {scope}: api.{scopes[scope]} and api.{name}"
            scopes[scope] = name
    return scopes


def test_every_transition_scope_is_found() -> None:
    callers = {name for name, function in api_functions().items() if "lp.idempotency_begin(" in function.text}
    assert callers, "no api function calls lp.idempotency_begin"
    unread = sorted(callers - set(transition_scopes().values()))
    assert not unread, f"api functions whose scope this test cannot read: {unread}"


def test_documented_scopes_are_the_scopes_of_the_code() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    mentioned = set(DOC_SCOPE.findall(text))
    assert mentioned == set(transition_scopes()), (
        f"docs/api.md names scopes {sorted(mentioned - set(transition_scopes()))} the code lacks and lacks "
        f"{sorted(set(transition_scopes()) - mentioned)}"
    )
    listed = re.search(r"scope, i\.e\. operation \(([^)]*)\)", text)
    assert listed, "the Idempotency table no longer lists the scopes ('scope, i.e. operation (...)')"
    assert set(re.findall(r"`([a-z_]+\.[a-z_]+)`", listed.group(1))) == set(transition_scopes())


def test_no_transition_scope_is_documented_as_shared() -> None:
    scopes = set(transition_scopes())
    problems = [
        line.strip()
        for line in doc_lines()
        if scopes & set(re.findall(r"`([a-z_]+\.[a-z_]+)`", line)) and SHARED_KEYS.search(line)
    ]
    for name in sorted(set(transition_scopes().values())):
        problems += [
            f"### api.{name}: {line.strip()}"
            for line in api_sections().get(name, "").splitlines()
            if SHARED_KEYS.search(line)
        ]
    assert not problems, (
        "transition keys are per caller (lp.idempotency_slot), but docs/api.md says otherwise:\n"
        + "\n".join(problems)
    )


@cache
def service_scopes() -> frozenset[str]:
    """The scopes lp.idempotency_slot keys for the back office whoever it acts as."""
    found = SERVICE_SCOPES.search(SLOT_FILE.read_text(encoding="utf-8"))
    assert found, (
        f"{SLOT_FILE.name}: no list of back-office scopes (p_scope = ANY (ARRAY[...]) THEN 'service')"
    )
    return frozenset(re.findall(r"'([a-z_]+\.[a-z_]+)'", found.group(1)))


def test_back_office_scopes_are_transitions_of_service_only_functions() -> None:
    scopes = transition_scopes()
    unknown = sorted(service_scopes() - set(scopes))
    assert not unknown, f"lp.idempotency_slot lists scopes no transition has: {unknown}"
    problems = [
        f"api.{scopes[scope]} ({scope}) is granted to {api_functions()[scopes[scope]].granted_to}"
        for scope in sorted(service_scopes())
        if api_functions()[scopes[scope]].granted_to != ("livepanty_service",)
    ]
    assert not problems, "back-office keys for a function other roles may run: " + "; ".join(problems)


@pytest.mark.parametrize("scope", sorted(transition_scopes()))
def test_transition_key_is_documented_per_caller(scope: str) -> None:
    name = transition_scopes()[scope]
    lines = api_sections().get(name, "").splitlines()
    row = next((line for line in lines if line.startswith("| `p_idempotency_key`")), "")
    assert f"scope `{scope}`" in row, f"### api.{name}: its p_idempotency_key row names no scope: {row!r}"
    if scope in service_scopes():
        assert BACK_OFFICE_KEYS in row, (
            f"### api.{name}: lp.idempotency_slot keys {scope} for the back office whoever it acts as; its "
            f"p_idempotency_key row must say {BACK_OFFICE_KEYS!r}: {row!r}"
        )
        assert "per caller" not in row, f"### api.{name}: {scope} is not keyed per caller: {row!r}"
    else:
        assert "per caller" in row, f"### api.{name}: its p_idempotency_key row lacks 'per caller': {row!r}"
        assert BACK_OFFICE_KEYS not in row, f"### api.{name}: {scope} is keyed per caller: {row!r}"
