import os

from fakes import draw

from photokosh.scan import OTHER_OUT, scan


def test_walk_skips_hidden_and_excluded_and_non_photos(tmp_path):
    draw(tmp_path / "a.jpg", [0])
    draw(tmp_path / "2019" / "trip" / "b.png", [1])
    draw(tmp_path / ".hidden" / "c.jpg", [0])
    draw(tmp_path / "._d.jpg", [0])  # macOS AppleDouble companion
    draw(tmp_path / "out" / "person_001" / "a.jpg", [0])
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "Thumbs.db").write_bytes(b"x")
    result = scan(tmp_path, exclude=[tmp_path / "out"])
    assert [p.rel for p in result.photos] == ["2019/trip/b.png", "a.jpg"]
    assert result.ignored == 2
    assert result.errors == []
    assert sorted(result.hidden) == ["._d.jpg", ".hidden"]


def test_the_output_folder_is_excluded_through_a_link_too(tmp_path):
    draw(tmp_path / "photos" / "a.jpg", [0])
    draw(tmp_path / "out" / "person_001" / "a.jpg", [0])
    os.symlink(tmp_path / "out", tmp_path / "photos" / "everything")
    result = scan(tmp_path / "photos", exclude=[tmp_path / "out"])
    assert [p.rel for p in result.photos] == ["a.jpg"] and result.errors == []


def test_another_photokosh_output_folder_is_listed_not_sorted(tmp_path):
    """An older OUT left inside PHOTOS holds copies of the photos: sorting it again would
    put every photo in twice."""
    draw(tmp_path / "a.jpg", [0])
    draw(tmp_path / "old-sorted" / "person_001" / "a-copy.jpg", [0], size=(90, 60))
    (tmp_path / "old-sorted" / ".photokosh").mkdir()
    result = scan(tmp_path)
    assert [p.rel for p in result.photos] == ["a.jpg"]
    assert result.errors == [("old-sorted", OTHER_OUT)] and result.hidden == []


def test_symlink_loop_terminates_and_each_photo_is_listed_once(tmp_path):
    draw(tmp_path / "a" / "x.jpg", [0])
    draw(tmp_path / "b" / "y.jpg", [1])
    os.symlink(tmp_path / "b", tmp_path / "a" / "to_b")
    os.symlink(tmp_path / "a", tmp_path / "b" / "to_a")
    os.symlink(tmp_path / "a" / "x.jpg", tmp_path / "x-again.jpg")
    result = scan(tmp_path)
    assert sorted(p.path.resolve().name for p in result.photos) == ["x.jpg", "y.jpg"]
    assert len(result.aliases) == 1


def test_unusable_entries_are_reported_not_fatal(tmp_path):
    draw(tmp_path / "good.jpg", [0])
    (tmp_path / "photo.jpg").mkdir()  # a directory with a photo's name: walked, empty
    os.mkfifo(tmp_path / "x.jpg")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "broken.jpg")
    result = scan(tmp_path)
    assert [p.rel for p in result.photos] == ["good.jpg"]
    reasons = dict(result.errors)
    assert "not a regular file" in reasons["x.jpg"]
    assert "broken symbolic link" in reasons["broken.jpg"]


def test_names_in_any_script_and_undecodable_bytes(tmp_path):
    names = ["with space.jpg", "quote'\"s.jpg", "new\nline.jpg", "עברית.jpg", "日本.jpg"]
    for name in names:
        draw(tmp_path / name, [0])
    raw = os.fsencode(tmp_path) + b"/bad-\xff.jpg"
    draw(tmp_path / "tmp.jpg", [0])
    os.rename(tmp_path / "tmp.jpg", raw)
    rels = [p.rel for p in scan(tmp_path).photos]
    assert sorted(rels) == sorted(names + [os.fsdecode(b"bad-\xff.jpg")])


def test_camera_raw_files_are_listed_not_read(tmp_path):
    draw(tmp_path / "IMG_0001.jpg", [0])
    (tmp_path / "IMG_0001.CR2").write_bytes(b"II*\x00" + b"\x00" * 100)
    (tmp_path / "DSC_0002.nef").write_bytes(b"MM\x00*" + b"\x00" * 100)
    result = scan(tmp_path)
    assert [p.rel for p in result.photos] == ["IMG_0001.jpg"]
    assert sorted(result.raw) == ["DSC_0002.nef", "IMG_0001.CR2"]
    assert result.errors == []
