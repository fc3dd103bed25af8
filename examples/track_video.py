"""Track one video from Python and print its tracks.

    python examples/track_video.py examples/demo/valid/videos/demo_0.mp4 [--weights CKPT] [--method efficientvis]
"""

from __future__ import annotations

import argparse

from vistool.engine.infer import InferOptions, run_video
from vistool.engine.sources import video_source
from vistool.methods.build import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--method", default=None)
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()

    model, _ = load_model(args.method or (None if args.weights else "efficientvis"), args.weights, "cpu")
    result, _ = run_video(model, video_source(args.video), InferOptions())
    print(f"{result.info.name}: {result.num_frames} frames, {len(result.tracks)} tracks")
    for track in sorted(result.tracks, key=lambda t: -t.score):
        frames = [i for i, s in enumerate(track.segmentations) if s is not None]
        span = f"frames {frames[0]}-{frames[-1]}" if frames else "no frames"
        print(f"  track {track.track_id:>3}  {model.categories[track.label]:<10} score {track.score:.3f}  {span}")


if __name__ == "__main__":
    main()
