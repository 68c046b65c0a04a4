import pytest

from photokosh.blur import output_name
from photokosh.names import clean_name, folder_name, unique_folders


@pytest.mark.parametrize("hostile", [
    "../x", "a/b", "/etc", ".", "..", "", "   ", "\x00", "a\x00b", "x" * 300, "CON", "con.txt",
    "LPT1", "..\\..\\windows", "name\nwith\nnewlines", ".hidden", "unknown", "blurred",
    "person_004", "\u202eevil\u202c", "a:b*c?d\"e<f>g|h",
])
def test_folder_names_cannot_escape_or_collide(hostile):
    folder = folder_name(hostile)
    if folder is None:
        assert not clean_name(hostile).strip(' ./\\:*?"<>|')
        return
    assert "/" not in folder and "\\" not in folder and "\x00" not in folder
    assert folder not in (".", "..") and not folder.startswith(".")
    assert len(folder.encode()) <= 120 + len(" (named)")
    assert folder.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1"}
    assert folder.lower() not in {"unknown", "no_faces", "blurred"}
    assert not folder.lower().startswith("person_") or folder.endswith("(named)")
    assert "\n" not in folder


def test_plain_names_are_kept():
    assert folder_name("Alice Smith") == "Alice Smith"
    assert folder_name("  José   María ") == "José María"
    assert folder_name("李小龍") == "李小龍"


def test_empty_and_dot_names_have_no_folder():
    for name in ("", ".", "..", " . ", "\x00\x01", "///", " : ", "\\|"):
        assert folder_name(name) is None
    assert folder_name("a/b") == "a_b" and folder_name("___") == "___"


def test_long_names_are_cut_on_a_character_boundary():
    folder = folder_name("é" * 300)
    assert len(folder.encode()) <= 120
    folder.encode("utf-8")  # still valid UTF-8


def test_same_names_get_distinct_folders():
    folders = unique_folders([("person_001", "Alice"), ("person_002", "alice"),
                              ("person_003", None), ("person_004", "..")])
    assert folders == {"person_001": "Alice", "person_002": "alice (2)",
                       "person_003": "person_003", "person_004": "person_004"}


def test_blurred_copies_of_long_names_fit_and_stay_apart():
    """HEIC copies become JPEG: name.heic.jpg, cut where that passes 255 bytes."""
    long = ["x" * 249 + "1.heic", "x" * 249 + "2.heic", "é" * 125 + ".heic"]
    names = [output_name(f"sub/{name}") for name in long]
    assert len(set(names)) == 3 and all(n.startswith("sub/") for n in names)
    for name in names:
        last = name.split("/")[-1]
        assert len(last.encode()) <= 255 and last.endswith(".jpg")
    assert output_name("a/short.heic") == "a/short.heic.jpg"
    assert output_name("a/b.JPG") == "a/b.JPG"
