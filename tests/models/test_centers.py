"""Centre heat-map targets, focal loss and peaks (vistool.models.heads.centers)."""

import torch

from vistool.models.heads.centers import center_focal_loss, extract_peaks, gaussian_heatmap, gaussian_radius


def test_heatmap_peaks_are_one_at_each_centre_in_its_channel():
    centers = torch.tensor([[3.4, 2.0], [10.0, 7.9]])
    heat = gaussian_heatmap(centers, torch.tensor([1.0, 2.0]), (12, 16), torch.tensor([0, 2]), num_channels=3)
    assert heat.shape == (3, 12, 16)
    assert heat[0, 2, 3] == 1 and heat[2, 7, 10] == 1
    assert heat[1].max() == 0
    assert heat[0, 2, 5] < heat[0, 2, 4] < 1  # falls off with distance


def test_overlapping_gaussians_keep_the_maximum():
    centers = torch.tensor([[4.0, 4.0], [6.0, 4.0]])
    heat = gaussian_heatmap(centers, torch.tensor([2.0, 2.0]), (9, 11))
    single = gaussian_heatmap(centers[:1], torch.tensor([2.0]), (9, 11))
    assert torch.all(heat >= single) and heat[0, 4, 6] == 1 and heat[0, 4, 5] < 1


def test_radius_grows_with_box_size_and_stays_inside_it():
    r = gaussian_radius(torch.tensor([4.0, 16.0, 64.0]), torch.tensor([4.0, 16.0, 64.0]))
    assert torch.all(r[1:] > r[:-1]) and torch.all(r < torch.tensor([4.0, 16.0, 64.0]))


def test_focal_loss_is_lower_for_logits_that_match_the_target():
    target = gaussian_heatmap(torch.tensor([[5.0, 5.0]]), torch.tensor([1.5]), (10, 10))
    good = torch.logit(target.clamp(1e-3, 1 - 1e-3))
    bad = torch.zeros_like(target)
    assert center_focal_loss(good, target) < center_focal_loss(bad, target)
    assert center_focal_loss(good, target) >= 0


def test_peaks_suppress_neighbours_and_respect_threshold_and_top_k():
    heat = torch.zeros(2, 8, 8)
    heat[0, 2, 2], heat[0, 2, 3] = 0.9, 0.8  # neighbour of a higher cell: not a peak
    heat[1, 6, 5] = 0.7
    heat[0, 6, 1] = 0.2  # below threshold
    peaks = extract_peaks(heat, threshold=0.3, top_k=10)
    assert len(peaks) == 2
    assert peaks.scores.tolist() == [0.8999999761581421, 0.699999988079071]
    assert peaks.channels.tolist() == [0, 1] and peaks.ys.tolist() == [2, 6] and peaks.xs.tolist() == [2, 5]
    assert len(extract_peaks(heat, threshold=0.3, top_k=1)) == 1
    assert len(extract_peaks(torch.zeros(1, 4, 4), threshold=0.1, top_k=5)) == 0
