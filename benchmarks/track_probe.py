"""Print what the RGNNVIS++ track manager sees in a few frames of a video, to see why a track switches.

For every frame in ``--frames FIRST LAST``: the detections (box, confidence, init probability), and for
every track in memory its last box, whether it was active, the detection it took, and per detection
the match probability, the box IoU and the appearance log-likelihood (the two initial edge features).

    python benchmarks/track_probe.py examples/demo/valid/videos/demo_0.mp4 --frames 14 18
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistool.io.video import open_video  # noqa: E402
from vistool.methods.rgnnvis.outputs import Perception  # noqa: E402
from vistool.methods.rgnnvis.track_manager import TrackState  # noqa: E402
from vistool.methods.rgnnvis.tracker import FrameOutput, RecurrentTracker  # noqa: E402
from vistool.methods.build import load_model  # noqa: E402


def rounded(values: torch.Tensor, digits: int = 2) -> list[float]:
    """A 1-D tensor as a list of rounded floats."""
    return [round(float(v), digits) for v in values]


def print_frame(index: int, state: TrackState, out: FrameOutput, perc: Perception) -> None:
    """One frame's detections and, per track alive before it (``state``: the memory before the frame),
    the edges to every detection."""
    dets = perc.dets
    n = int(dets.valid[0].sum())
    edges, _ = RecurrentTracker.initial_edges(state, dets, perc.x)  # (1, 1+M, N, 2): the tracker's own inputs
    iou, loglik = edges[0, 1:, :, 0], edges[0, 1:, :, 1]
    match = torch.sigmoid(out.match_logits[0])
    print(f"frame {index}: {n} detections (x1, y1, x2, y2, confidence)")
    for d in range(n):
        print(f"  det {d:2d} {rounded(dets.boxes[0, d], 0)} conf {float(dets.scores[0, d]):.2f} "
              f"init {float(torch.sigmoid(out.init_logits[0, d])):.2f}")
    for m in state.alive[0].nonzero().flatten().tolist():
        print(f"  slot {m} last box {rounded(state.box[0, m], 0)} active {bool(state.active[0, m])} "
              f"-> det {int(out.det_of_track[0, m])}")
        print(f"    match  {rounded(match[m, :n])}")
        print(f"    iou    {rounded(iou[m, :n])}")
        print(f"    loglik {rounded(loglik[m, :n], 1)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--frames", nargs=2, type=int, required=True, metavar=("FIRST", "LAST"))
    parser.add_argument("-w", "--weights", default=None, help="RGNNVIS++ checkpoint (default: the bundled one)")
    args = parser.parse_args()

    model, _ = load_model("rgnnvis", args.weights)
    with torch.no_grad(), open_video(args.video, max_frames=args.frames[1] + 1) as video:
        session = model.new_session(video.info)
        for index, image in video:
            frame = torch.from_numpy(np.ascontiguousarray(image))[None]  # (1, H, W, 3) uint8
            step = session.advance(frame)
            if index >= args.frames[0]:
                print_frame(index, step.before, step.out, step.perc)


if __name__ == "__main__":
    main()
