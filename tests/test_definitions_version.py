"""A change of definitions is versioned and logged: ``definitions.yaml``'s content hash must be the
one recorded for its version, and the changelog must have an entry for that version."""

from pathlib import Path

import yaml

from workbench.definitions import DEFINITIONS_FILE, content_hash, version

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = ROOT / "docs" / "definitions_changelog.md"

#: Content hash of each released version (comments excluded). When you change the definitions,
#: bump ``version``, add a changelog entry, and add the new version's hash here; never edit a
#: released version's hash.
RELEASED = {
    "1.0.0": "e6a58bca7e76e024624ddf005afddb9caf6bc5ff49ba0d3636de5cd61b539e78",
    "1.1.0": "5bbc38a0fd5d782628c2e79e29367afca9cbc656d445c1c67581c26a0b53729e",
    "1.2.0": "e662d00891cb74b8436b0dfe6b7451171f23f1ef29e979fdb363fd4bd732ae4d",
    "1.3.0": "4db076da04b550e3666d56609775d3506c88ade5bf1a0f79992c7e1e97fdc0b9",
}


def test_content_matches_the_hash_of_its_version():
    v = version()
    assert v in RELEASED, f"definitions.yaml says version {v}, which has no recorded hash: add it to RELEASED"
    assert content_hash() == RELEASED[v], (
        f"definitions.yaml changed without a version bump: its content is not that of version {v}. "
        "Bump 'version', log the change in docs/definitions_changelog.md and record the new hash here."
    )


def test_every_version_is_in_the_changelog():
    text = CHANGELOG.read_text(encoding="utf-8")
    for v in RELEASED:
        assert f"## {v} (" in text, f"docs/definitions_changelog.md has no entry for {v}"


def test_a_content_change_without_a_bump_is_caught(tmp_path):
    changed = yaml.safe_load(DEFINITIONS_FILE.read_text(encoding="utf-8"))
    changed["returns"]["grace_days"] += 1
    edited = tmp_path / "definitions.yaml"
    edited.write_text(yaml.safe_dump(changed), encoding="utf-8")
    assert content_hash(edited) != RELEASED[version()]


def test_a_comment_is_not_a_change(tmp_path):
    edited = tmp_path / "definitions.yaml"
    edited.write_text(DEFINITIONS_FILE.read_text(encoding="utf-8") + "\n# a note\n", encoding="utf-8")
    assert content_hash(edited) == content_hash()
