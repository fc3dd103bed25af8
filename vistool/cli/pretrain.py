"""``vistool pretrain``: dense category pretraining of a backbone (thin wrapper of engine.pretrain)."""

from __future__ import annotations

import click

from vistool.models.backbone import BACKBONES


@click.command("pretrain")
@click.option("--data", required=True, help="YouTube-VIS split folder, dataset JSON, or synth:PRESET.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: backbone.pt (for --backbone-weights), last.pt (resumable), metrics.jsonl.")
@click.option("--backbone", type=click.Choice(BACKBONES), default="mobilenet_v3_small", show_default=True,
              help="torchvision backbone to pretrain.")
@click.option("--norm", type=click.Choice(["gn", "bn"]), default="gn", show_default=True,
              help="Normalisation layers; must match the method config that loads the result.")
@click.option("--steps", type=click.IntRange(min=1), default=3000, show_default=True, help="Optimisation steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Frames per step.")
@click.option("--size", nargs=2, type=click.IntRange(min=16), default=(320, 180), show_default=True,
              help="Training frame WIDTH HEIGHT.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Peak AdamW learning rate (warm-up, then cosine decay).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of data order and initialisation.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True, help="Data loader processes.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from last.pt.")
def pretrain(data: str, out_dir: str, backbone: str, norm: str, steps: int, batch_size: int,
             size: tuple[int, int], lr: float, seed: int, workers: int, resume: bool) -> None:
    """Pretrain a backbone to label every pixel with its instance's category.

    A substitute for ImageNet weights on machines without a network: the
    result, OUT/backbone.pt, is a torchvision state dict for
    'vistool train --backbone-weights OUT/backbone.pt'.

    \b
    Example:
      vistool pretrain --data synth:standard --backbone mobilenet_v3_small --out runs/pre_mnv3s
      vistool train --method efficientvis --data synth:standard \\
          --config configs/efficientvis_mnv3s_synth.yaml --backbone-weights runs/pre_mnv3s/backbone.pt \\
          --out runs/evis
    """
    from vistool.cli import echo_console
    from vistool.cli.train import RichReporter
    from vistool.engine.pretrain import PretrainConfig
    from vistool.engine.pretrain import pretrain as run_pretrain

    cfg = PretrainConfig(backbone=backbone, norm=norm, size=(int(size[0]), int(size[1])), batch_size=batch_size,
                         steps=steps, lr=lr, seed=seed, workers=workers)
    console = echo_console()
    with RichReporter(console) as reporter:
        result = run_pretrain(data, out_dir, cfg, resume=resume, reporter=reporter)
    console.print(f"pretrained {result.steps} steps (loss {result.loss:.3f}, foreground pixel accuracy "
                  f"{result.foreground_accuracy:.3f}); backbone weights: {result.backbone_path}", soft_wrap=True)
