"""Streaming video input and H.264 output (vistool.io.video), on tiny generated videos."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from vistool.errors import InputError, VideoReadError
from vistool.io.video import (
    VideoWriter,
    expand_inputs,
    is_video_file,
    list_frame_files,
    open_video,
    probe,
    write_video,
)
from vistool.io.video_capture import capture_frames
from vistool.io.video_ffmpeg import ffmpeg_exe

W, H = 64, 48


def level(i: int) -> int:
    """Grey level that encodes frame index ``i`` modulo 10 (survives lossy codecs)."""
    return 20 + 20 * (i % 10)


def make_frames(n: int, size: tuple[int, int] = (W, H), noisy: bool = False) -> list[np.ndarray]:
    """Flat grey frames (level encodes the index) with a white 8x8 marker at the top-left.

    ``noisy`` adds random texture to the top-right quarter so that every frame
    takes kilobytes once encoded (a cut file then still holds whole frames).
    """
    w, h = size
    rng = np.random.default_rng(n)
    frames = []
    for i in range(n):
        frame = np.full((h, w, 3), level(i), dtype=np.uint8)
        frame[2:10, 2:10] = 255
        if noisy:
            frame[: h // 2 - 4, w // 2:] = rng.integers(0, 256, (h // 2 - 4, w - w // 2, 3), dtype=np.uint8)
        frames.append(frame)
    return frames


def encode(path: Path, frames: list[np.ndarray], args: list[str], fps: int = 10, pix_fmt_in: str = "rgb24") -> Path:
    """Pipe raw frames into the bundled ffmpeg with the given output arguments."""
    h, w = frames[0].shape[:2]
    cmd = [ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", pix_fmt_in, "-s", f"{w}x{h}",
           "-r", str(fps), "-i", "-", *args, str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True)
    return path


def ffmpeg_info(path: Path) -> str:
    """What ffmpeg prints about a file's streams."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return result.stderr


def frame_index_of(frame: np.ndarray) -> int:
    """Recover the index from the grey level of the frame's lower-right area."""
    value = float(frame[H // 2:, W // 2:].mean())
    return int(round((value - 20) / 20))


CONTAINERS = {
    "mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "avi": ["-c:v", "mpeg4", "-q:v", "2"],
    "mkv": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"],
    "gif": [],
}


@pytest.fixture
def mp4_10(tmp_path: Path) -> Path:
    return encode(tmp_path / "ten.mp4", make_frames(10), CONTAINERS["mp4"])


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_each_container_decodes_every_frame_in_order(tmp_path: Path, ext: str) -> None:
    path = encode(tmp_path / f"clip.{ext}", make_frames(6), CONTAINERS[ext])
    info = probe(str(path))
    assert (info.name, info.width, info.height, info.num_frames) == ("clip", W, H, 6)
    assert info.fps == pytest.approx(10.0)
    with open_video(str(path)) as reader:
        frames = list(reader)
    assert [i for i, _ in frames] == list(range(6))
    for i, frame in frames:
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        assert frame_index_of(frame) == i
        assert frame[4:8, 4:8].min() > 200  # marker stays top-left


def test_odd_size_video(tmp_path: Path) -> None:
    frames = make_frames(4, size=(65, 49))
    path = encode(tmp_path / "odd.mkv", frames, ["-c:v", "ffv1"])
    info = probe(str(path))
    assert (info.width, info.height) == (65, 49)
    decoded = [f for _, f in open_video(str(path))]
    assert len(decoded) == 4
    np.testing.assert_array_equal(decoded[2], frames[2])  # ffv1 is lossless


def test_grayscale_video_becomes_rgb(tmp_path: Path) -> None:
    frames = make_frames(3)
    gray = [np.ascontiguousarray(f[:, :, 0]) for f in frames]
    path = encode(tmp_path / "gray.mkv", gray, ["-c:v", "ffv1", "-pix_fmt", "gray"], pix_fmt_in="gray")
    decoded = [f for _, f in open_video(str(path))]
    assert decoded[1].shape == (H, W, 3)
    np.testing.assert_array_equal(decoded[1], frames[1])


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    plain = encode(tmp_path / "plain.mp4", make_frames(3), CONTAINERS["mp4"])
    rotated = tmp_path / "rotated.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", "-display_rotation", "90", "-i", str(plain), "-c", "copy",
                    str(rotated)], check=True)
    assert "rotation" in ffmpeg_info(rotated).lower()
    info = probe(str(rotated))
    assert (info.width, info.height) == (H, W)
    upright = [f for _, f in open_video(str(plain))]
    turned = [f for _, f in open_video(str(rotated))]
    assert turned[0].shape == (W, H, 3)
    # 90 degrees counter-clockwise display rotation: the top-left marker ends bottom-left.
    np.testing.assert_array_equal(turned[0], np.rot90(upright[0], 1))
    assert turned[0][-8:-4, 4:8].min() > 200


def test_frame_folder_natural_sort_and_rgba(tmp_path: Path) -> None:
    folder = tmp_path / "JPEGImages" / "vid"
    folder.mkdir(parents=True)
    frames = make_frames(3)
    for name, frame in zip(["2.png", "10.png", "1.png"], [frames[1], frames[2], frames[0]]):
        rgba = np.dstack([frame[:, :, ::-1], np.full((H, W), 128, np.uint8)])  # BGRA with alpha
        cv2.imwrite(str(folder / name), rgba)
    (folder / "notes.txt").write_text("not a frame")
    assert [Path(p).name for p in list_frame_files(folder)] == ["1.png", "2.png", "10.png"]
    info = probe(str(folder))
    assert (info.name, info.width, info.height, info.fps, info.num_frames) == ("vid", W, H, None, 3)
    decoded = list(open_video(str(folder)))
    assert [i for i, _ in decoded] == [0, 1, 2]
    for (i, frame), expected in zip(decoded, frames):
        np.testing.assert_array_equal(frame, expected)


def test_glob_of_images(tmp_path: Path) -> None:
    frames = make_frames(4)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"f{i + 1}.png"), frame[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "other.jpg"), frames[0])
    source = str(tmp_path / "f*.png")
    assert probe(source).num_frames == 4
    assert [frame_index_of(f) for _, f in open_video(source)] == [0, 1, 2, 3]
    assert expand_inputs([source]) == [source]


def test_stride_max_frames_start(mp4_10: Path, tmp_path: Path) -> None:
    with open_video(str(mp4_10), stride=3, start=1, max_frames=2) as reader:
        got = [(i, frame_index_of(f)) for i, f in reader]
    assert got == [(1, 1), (4, 4)]
    assert [i for i, _ in open_video(str(mp4_10), stride=4)] == [0, 4, 8]
    assert [frame_index_of(f) for _, f in open_video(str(mp4_10), start="0.5s")] == [5, 6, 7, 8, 9]
    reader = open_video(str(mp4_10), stride=2, start=3)
    assert reader.expected_frames == len(list(reader)) == 4
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(make_frames(10)):
        cv2.imwrite(str(folder / f"{i:05d}.png"), frame[:, :, ::-1])
    assert [(i, frame_index_of(f)) for i, f in open_video(str(folder), stride=3, start=2, max_frames=2)] == [(2, 2), (5, 5)]
    with pytest.raises(InputError, match="has no frame rate"):
        open_video(str(folder), start="1s")  # a frame folder has no fps
    with pytest.raises(InputError, match="past the last frame"):
        open_video(str(folder), start=10)
    with pytest.raises(InputError, match="stride"):
        open_video(str(mp4_10), stride=0)


def test_early_break_stops_decoder_and_reader_can_iterate_again(mp4_10: Path) -> None:
    with open_video(str(mp4_10)) as reader:
        first = next(iter(reader))
        assert first[0] == 0
        again = [i for i, _ in reader]
    assert again == list(range(10))
    assert reader.frames_read == 10 and reader.last_frame_index == 9


def test_opencv_capture_backend_reads_rgb_with_stride(mp4_10: Path) -> None:
    got = [(i, frame_index_of(f), f[5, 5].tolist()) for i, f in capture_frames(str(mp4_10), start=2, stride=3)]
    assert [(i, k) for i, k, _ in got] == [(2, 2), (5, 5), (8, 8)]
    assert min(got[0][2]) > 200


def test_one_frame_video(tmp_path: Path) -> None:
    path = encode(tmp_path / "one.mp4", make_frames(1), CONTAINERS["mp4"])
    assert probe(str(path)).num_frames == 1
    assert [i for i, _ in open_video(str(path))] == [0]


# ------------------------------------------------------------------ bad inputs


def test_missing_file() -> None:
    with pytest.raises(InputError, match="nope.mp4: no such file"):
        probe("/definitely/not/here/nope.mp4")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoReadError, match=r"empty\.mp4: file is empty"):
        open_video(str(tmp_path / "empty.mp4"))


@pytest.mark.parametrize("content", [b"hello, I am text\n" * 20, bytes(range(256)) * 40])
def test_not_a_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoReadError, match=r"fake\.mp4: cannot be decoded as a video") as info:
        probe(str(path))
    assert "\n" not in str(info.value)


def test_corrupt_middle_of_file(tmp_path: Path) -> None:
    path = encode(tmp_path / "c.mp4", make_frames(10, noisy=True), ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "3",
                                                         "-movflags", "+faststart"])
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    cut = len(data) // 2
    data[cut:] = rng.integers(0, 256, len(data) - cut, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    seen = []
    with pytest.raises(VideoReadError, match=r"c\.mp4: corrupt or truncated") as info:
        for i, _ in open_video(str(path)):
            seen.append(i)
    assert info.value.last_good_frame == (seen[-1] if seen else None)
    assert len(seen) < 10


def test_truncated_mp4_yields_good_frames_then_fails(tmp_path: Path) -> None:
    frames = make_frames(30, noisy=True)
    path = encode(tmp_path / "t.mp4", frames, ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5",
                                                   "-movflags", "+faststart"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert probe(str(path)).num_frames == 30  # the index survives, the frames do not
    seen = []
    with pytest.raises(VideoReadError, match=r"t\.mp4: corrupt or truncated.*last good frame") as info:
        for i, frame in open_video(str(path)):
            np.testing.assert_allclose(frame[H // 2:].mean(), frames[i][H // 2:].mean(), atol=2)
            seen.append(i)
    assert seen == list(range(len(seen))) and 0 < len(seen) < 30
    assert info.value.last_good_frame == seen[-1]


def test_truncated_before_index_is_unreadable(tmp_path: Path, mp4_10: Path) -> None:
    data = mp4_10.read_bytes()  # index (moov) at the end: cutting it off leaves nothing readable
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match=r"cut\.mp4: cannot be decoded.*moov atom not found"):
        open_video(str(tmp_path / "cut.mp4"))


def test_zero_frame_video(tmp_path: Path) -> None:
    path = tmp_path / "zero.y4m"
    path.write_bytes(b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg\n")  # valid header, no frame
    with pytest.raises(VideoReadError, match=r"zero\.y4m: contains no video frames"):
        probe(str(path))


def test_file_without_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio.mkv"
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.2", str(path)], check=True)
    with pytest.raises(VideoReadError, match=r"audio\.mkv: has no video stream"):
        probe(str(path))


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="contains no images"):
        open_video(str(tmp_path))


def test_folder_with_mixed_sizes(tmp_path: Path) -> None:
    frames = make_frames(3)
    cv2.imwrite(str(tmp_path / "0.png"), frames[0])
    cv2.imwrite(str(tmp_path / "1.png"), frames[1])
    cv2.imwrite(str(tmp_path / "2.png"), cv2.resize(frames[2], (32, 24)))
    seen = []
    with pytest.raises(VideoReadError, match=r"2\.png: frame 2 is 32x24 but the first frame is 64x48") as info:
        for i, _ in open_video(str(tmp_path)):
            seen.append(i)
    assert seen == [0, 1] and info.value.last_good_frame == 1


def test_unreadable_image_in_folder(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "0.jpg"), make_frames(1)[0])
    (tmp_path / "1.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    with pytest.raises(VideoReadError, match=r"1\.jpg: cannot read frame 1.*last good frame: 0"):
        list(open_video(str(tmp_path)))


# ------------------------------------------------------------------ writer


def test_writer_h264_yuv420p_odd_size(tmp_path: Path) -> None:
    frames = make_frames(5, size=(65, 49))
    out = tmp_path / "sub" / "out.mp4"
    assert write_video(out, frames, fps=12.5) == 5
    text = ffmpeg_info(out)
    assert "Video: h264" in text and "yuv420p" in text and "66x50" in text
    info = probe(str(out))
    assert (info.width, info.height, info.num_frames) == (66, 50, 5)
    assert info.fps == pytest.approx(12.5)
    decoded = [f for _, f in open_video(str(out))]
    assert [frame_index_of(f[:49, :65]) for f in decoded] == [0, 1, 2, 3, 4]
    assert decoded[4][49:, :].mean() < 30  # padded row is black
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]


def test_writer_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "keep.mp4"
    target.write_bytes(b"previous content")
    with pytest.raises(RuntimeError):
        with VideoWriter(target, fps=10, size=(W, H)) as writer:
            for frame in make_frames(3):
                writer.write(frame)
            raise RuntimeError("model crashed")
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]
    with pytest.raises(ValueError, match="65x48"):
        with VideoWriter(tmp_path / "bad.mp4", fps=10, size=(W, H)) as writer:
            writer.write(make_frames(1)[0])
            writer.write(np.zeros((H, 65, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


# ------------------------------------------------------------------ inputs


def test_expand_inputs_and_helpers(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "JPEGImages" / "b10").mkdir(parents=True)
    (root / "JPEGImages" / "b2").mkdir(parents=True)
    for folder in ("b10", "b2"):
        cv2.imwrite(str(root / "JPEGImages" / folder / "00000.jpg"), make_frames(1)[0])
    encode(root / "clip.mp4", make_frames(2), CONTAINERS["mp4"])
    (root / "notes.txt").write_text("x")
    expected = [str(root / "clip.mp4"), str(root / "JPEGImages" / "b2"), str(root / "JPEGImages" / "b10")]
    assert expand_inputs([str(root)]) == expected
    assert expand_inputs([str(root / "JPEGImages" / "b2")]) == [str(root / "JPEGImages" / "b2")]
    assert expand_inputs([str(root / "*.mp4"), str(root / "clip.mp4"), "0", "rtsp://cam/live"]) == [
        str(root / "clip.mp4"), "0", "rtsp://cam/live"]
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.mp4")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no videos and no images"):
        expand_inputs([str(empty)])
    assert is_video_file("a/B.MKV") and not is_video_file("a/b.png")
    assert os.path.basename(list_frame_files(root / "JPEGImages" / "b2")[0]) == "00000.jpg"


def test_threaded_writer_writes_every_frame_in_order_and_cleans_up_on_abort(tmp_path: Path) -> None:
    """The overlay's writer thread: same frames, same order as the plain writer; abort leaves no file."""
    from vistool.io.video_writer import ThreadedVideoWriter

    frames = [np.full((48, 64, 3), 20 * k, dtype=np.uint8) for k in range(10)]
    out = tmp_path / "t.mp4"
    with ThreadedVideoWriter(out, fps=10, size=(64, 48), queue_size=2, preset="ultrafast", threads=1) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.frames_written == 10
    back = [f for _, f in open_video(str(out))]
    assert len(back) == 10
    assert [int(f.mean() + 10) // 20 for f in back] == list(range(10))  # in order (lossy: means within 10)
    aborted = ThreadedVideoWriter(tmp_path / "a.mp4", fps=10, size=(64, 48))
    aborted.write(frames[0])
    aborted.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp4"]
    with pytest.raises(ValueError):
        ThreadedVideoWriter(tmp_path / "b.mp4", fps=10, size=(64, 48)).write(np.zeros((48, 64), np.float32))
