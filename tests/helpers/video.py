"""Synthetic frames for engine tests: white squares moving on black."""

from __future__ import annotations

import numpy as np

from vistool.engine.infer import FrameSource, InferOptions
from vistool.structures import VideoInfo


def moving_squares(num_frames: int, size: tuple[int, int] = (64, 48), squares: int = 2) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames with ``squares`` 8x8 white squares moving right by 1 px per frame."""
    w, h = size
    frames = []
    for t in range(num_frames):
        frame = np.zeros((h, w, 3), dtype=np.uint8)
        for k in range(squares):
            x, y = 4 + t % (w - 16), 6 + 20 * k
            frame[y:y + 8, x:x + 8] = 255
        frames.append(frame)
    return frames


def array_source(frames: list[np.ndarray], name: str = "clip", fps: float = 10.0) -> FrameSource:
    """A FrameSource over in-memory frames honouring start/stride/max_frames."""
    h, w = frames[0].shape[:2]
    info = VideoInfo(name=name, source=name, width=w, height=h, fps=fps, num_frames=len(frames))

    def open_frames(options: InferOptions):
        indices = range(options.start, len(frames), options.stride)
        if options.max_frames is not None:
            indices = indices[: options.max_frames]
        return ((i, frames[i]) for i in indices)

    return FrameSource(info=info, open=open_frames)


def write_squares_video(path, num_frames: int = 8, size: tuple[int, int] = (64, 48), squares: int = 2,
                        fps: float = 10.0) -> list[np.ndarray]:
    """Write moving squares as an H.264 MP4 (or a frame folder if ``path`` has no suffix); return the frames."""
    from pathlib import Path

    import cv2

    frames = moving_squares(num_frames, size, squares)
    path = Path(path)
    if path.suffix:
        from vistool.io.video import write_video

        write_video(str(path), frames, fps)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            cv2.imwrite(str(path / f"{i:05d}.png"), frame[:, :, ::-1])
    return frames


def write_squares_split(root, num_videos: int = 2, num_frames: int = 6, size: tuple[int, int] = (64, 48)):
    """A YouTube-VIS split folder (PNG frames + instances.json) of moving squares; returns the JSON path."""
    from pathlib import Path

    import cv2

    from vistool.io import rle
    from vistool.io.ytvis import YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo, write_dataset

    root = Path(root)
    videos, annotations = [], []
    for v in range(num_videos):
        name = f"vid{v}"
        (root / "JPEGImages" / name).mkdir(parents=True, exist_ok=True)
        frames = moving_squares(num_frames, size, squares=1 + v % 2)
        names = [f"{name}/{t:05d}.png" for t in range(num_frames)]
        for frame, file_name in zip(frames, names):
            cv2.imwrite(str(root / "JPEGImages" / file_name), frame[:, :, ::-1])
        videos.append(YtvisVideo(id=10 + v, width=size[0], height=size[1], length=num_frames, file_names=names))
        for k in range(1 + v % 2):
            segs = []
            for t in range(num_frames):
                mask = np.zeros((size[1], size[0]), bool)
                x, y = 4 + t % (size[0] - 16), 6 + 20 * k
                mask[y:y + 8, x:x + 8] = True
                segs.append(rle.encode(mask))
            annotations.append(YtvisAnnotation.from_segmentations(len(annotations) + 1, 10 + v, 1, segs))
    dataset = YtvisDataset(videos=videos, categories=[YtvisCategory(id=1, name="blob")], annotations=annotations)
    write_dataset(root / "instances.json", dataset)
    return root / "instances.json"
