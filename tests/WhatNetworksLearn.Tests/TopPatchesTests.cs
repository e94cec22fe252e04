using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Top regions over candidate views: photos at several scales, cut into overlapping squares.</summary>
public class TopPatchesTests
{
    /// <summary>A black 1 x 40 x 60 photo with a white 10 x 10 square at columns 30-39, rows 10-19.</summary>
    static Tensor SquarePhoto()
    {
        var photo = zeros(1, 40, 60);
        photo[0, 10..20, 30..40] = ones(10, 10);
        return photo;
    }

    static readonly Region Square = new(30, 10, 10, 10);

    [Fact]
    public void Squares_cover_each_side_and_the_last_one_ends_at_the_border()
    {
        Assert.Equal([0], CandidateViews.Offsets(224, 224, 112));
        Assert.Equal([0, 112], CandidateViews.Offsets(336, 224, 112));
        Assert.Equal([0, 112, 224, 280], CandidateViews.Offsets(504, 224, 112));
    }

    [Fact]
    public void Each_view_holds_the_pixels_of_its_crop_of_the_scaled_photo()
    {
        using var model = ToyModels.BrightnessWindows();
        using var photo = SquarePhoto();
        int[] sides = [32, 48, 64];
        using var views = CandidateViews.Of(model, [photo], sides);
        // Side 32: 32 x 48, two squares; 48: 48 x 72, 2 x 4; 64: 64 x 96, 3 x 5.
        Assert.Equal(2 + 8 + 15, views.Views.Count);
        Assert.Equal(new long[] { 25, 1, 32, 32 }, views.Pixels.shape);
        Assert.Equal((60, 40), views.ImageSizes[0]);
        Assert.Equal([32, 32, 48, 48, 48, 48, 48, 48, 48, 48], views.Views.Take(10).Select(v => v.ShorterSide));
        using var scope = NewDisposeScope();
        foreach (int side in sides)
        {
            var scaled = Images.Scale(photo, model, side);
            Assert.Equal(side, scaled.shape[2]);
            Assert.Equal(side * 60 / 40, scaled.shape[3]);
            var ofSide = views.Views.Select((v, i) => (v, i)).Where(x => Math.Abs(x.v.ScaleY - side / 40.0) < 1e-9).ToList();
            Assert.NotEmpty(ofSide);
            foreach (var (v, i) in ofSide)
                Assert.True(views.Pixels[i].eq(scaled[0, .., v.Crop.Top..(v.Crop.Top + 32), v.Crop.Left..(v.Crop.Left + 32)]).all().item<bool>());
        }
    }

    [Fact]
    public void A_region_of_a_view_maps_back_to_the_part_of_the_photo_it_shows()
    {
        using var model = ToyModels.BrightnessWindows();
        using var photo = SquarePhoto();
        using var views = CandidateViews.Of(model, [photo], [32, 48, 64]);
        using var scope = NewDisposeScope();
        int checkedViews = 0;
        for (int i = 0; i < views.Views.Count; i++)
        {
            var view = views.Views[i];
            // Where the square lies in this view's pixels; skip views that cut it.
            double left = Square.Left * view.ScaleX - view.Crop.Left, right = (Square.Left + Square.Width) * view.ScaleX - view.Crop.Left;
            double top = Square.Top * view.ScaleY - view.Crop.Top, bottom = (Square.Top + Square.Height) * view.ScaleY - view.Crop.Top;
            if (left < 0 || top < 0 || right > 32 || bottom > 32)
                continue;
            // The bright pixels of the view, found in the view, then mapped back to the photo: the square, to a pixel.
            var bright = views.Pixels[i, 0].gt(0.5f).nonzero();
            var rows = bright[.., 0].data<long>().ToArray();
            var columns = bright[.., 1].data<long>().ToArray();
            var inView = new Region((int)columns.Min(), (int)rows.Min(), (int)(columns.Max() - columns.Min() + 1), (int)(rows.Max() - rows.Min() + 1));
            var inPhoto = view.ToImage(inView, 60, 40);
            Assert.InRange(inPhoto.Left, Square.Left - 1, Square.Left + 1);
            Assert.InRange(inPhoto.Top, Square.Top - 1, Square.Top + 1);
            Assert.InRange(inPhoto.Left + inPhoto.Width, Square.Left + Square.Width - 1, Square.Left + Square.Width + 1);
            Assert.InRange(inPhoto.Top + inPhoto.Height, Square.Top + Square.Height - 1, Square.Top + Square.Height + 1);
            checkedViews++;
        }
        Assert.True(checkedViews >= 5, $"Only {checkedViews} views hold the whole square.");
        // The whole view maps to its crop scaled back, clipped to the photo.
        var last = views.Views[^1];
        Assert.Equal(new Region(40, 20, 20, 20), last.ToImage(new Region(0, 0, 32, 32), 60, 40));
    }

    [Fact]
    public void The_strongest_region_is_the_object_at_the_scale_that_fits_it_and_its_copies_at_other_scales_are_suppressed()
    {
        using var model = ToyModels.BrightnessWindows();
        using var photo = SquarePhoto();
        using var views = CandidateViews.Of(model, [photo], [32, 48, 64]);
        var patches = TopPatches.Find(model, views, "mean", channel: 0, count: 4, iouThreshold: 0.3, perImage: 4);

        // A 16-pixel window sees the 10-pixel square whole only at scale 1.6 (shorter side 64), where the square is 16 pixels.
        var best = patches[0];
        Assert.Equal(1.6, views.Views[best.View].ScaleY, 9);
        Assert.True(best.Activation > 0.9f, $"The best window holds the square; its mean is {best.Activation}.");
        Assert.True(best.Region.IoU(Square) > 0.8, $"The best region {best.Region} is the square {Square}.");

        // The square is seen strongly in many views and at every scale; in the photo's pixels those are one region, kept once.
        using var all = model.Activations(views.Pixels, "mean")["mean"];
        var strong = Enumerable.Range(0, views.Views.Count).Where(v => all[v, 0].max().item<float>() > 0.5f).ToList();
        Assert.True(strong.Select(v => views.Views[v].ScaleY).Distinct().Count() >= 2, "The square excites views of two scales.");
        Assert.True(strong.Count >= 3);
        Assert.Equal(1, patches.Count(p => p.Region.IoU(Square) > 0.3));
        for (int a = 0; a < patches.Count; a++)
            for (int b = a + 1; b < patches.Count; b++)
                Assert.True(patches[a].Region.IoU(patches[b].Region) <= 0.3, $"{patches[a].Region} and {patches[b].Region} overlap.");
    }

    [Fact]
    public void Each_patch_says_where_the_unit_saw_it()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 6);
        var photos = Enumerable.Range(0, 6).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28, 42, 56]);
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, "relu2"));
        var patches = TopPatches.Find(model, views, "relu2", channel: 5, count: 10, perImage: 2);
        Assert.Equal(10, patches.Count);
        using var maps = model.Activations(views.Pixels, "relu2")["relu2"];
        foreach (var p in patches)
        {
            Assert.Equal(views.Views[p.View].Image, p.Image);
            Assert.Equal(maps[p.View, 5, p.Y, p.X].item<float>(), p.Activation, 5);
            var (left, top, width, height) = field.Box(p.Y, p.X, 28, 28);
            Assert.Equal(new Region(left, top, width, height), p.InView);
            Assert.Equal(views.Views[p.View].ToImage(p.InView, 28, 28), p.Region);
        }
        // No view of any photo has a stronger response than the best patch.
        Assert.Equal(maps[.., 5].max().item<float>(), patches[0].Activation, 5);
        foreach (var t in photos)
            t.Dispose();
    }

    [Fact]
    public void Batched_unbatched_and_several_channels_at_once_find_the_same_patches()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 5);
        var photos = Enumerable.Range(0, 5).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28, 56], overlap: 0.25);
        int[] channels = [3, 17, 40];
        using var scan = TopPatches.Scan(model, views, "relu3", channels, batchSize: 64);
        var together = channels.Select(c => scan.Top(c, count: 6, perImage: 2)).ToList();
        foreach (int batchSize in new[] { 1, 7 })
            for (int k = 0; k < channels.Length; k++)
            {
                var alone = TopPatches.Find(model, views, "relu3", channels[k], count: 6, perImage: 2, batchSize: batchSize);
                Assert.Equal(together[k].Select(p => (p.Image, p.Region, p.View, p.Y, p.X)), alone.Select(p => (p.Image, p.Region, p.View, p.Y, p.X)));
                Assert.Equal(together[k].Select(p => p.Activation), alone.Select(p => p.Activation), (a, b) => Math.Abs(a - b) < 1e-5);
            }
        // Whole images are a set of views too: one view per image, scale 1, regions as before.
        using var whole = CandidateViews.Whole(sample.Images);
        var direct = TopPatches.Find(model, sample.Images, "relu3", 17, count: 3);
        Assert.Equal(direct, TopPatches.Find(model, whole, "relu3", 17, count: 3));
        Assert.All(direct, p => Assert.Equal(p.Region, p.InView));
        foreach (var t in photos)
            t.Dispose();
    }

    [Fact]
    public void Patterns_are_the_gradients_of_each_patch_in_the_view_that_holds_it()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 3);
        var photos = Enumerable.Range(0, 3).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28, 42]);
        var guided = new UnitGradient(model, ReluBackward.Guided);
        var patches = TopPatches.Find(model, views, "relu2", channel: 7, count: 4, perImage: 2);
        var patterns = guided.Patterns(views, "relu2", 7, patches);
        Assert.Equal(patches.Count, patterns.Count);
        using var scope = NewDisposeScope();
        foreach (var (p, pattern) in patches.Zip(patterns))
        {
            var one = guided.Of(views.Pixels.narrow(0, p.View, 1), "relu2", 7, (p.Y, p.X));
            var expected = one[0, .., p.InView.Top..(p.InView.Top + p.InView.Height), p.InView.Left..(p.InView.Left + p.InView.Width)];
            Assert.True(pattern.allclose(expected, rtol: 1e-5, atol: 1e-7));
            Assert.True(pattern.abs().max().item<float>() > 0, "the neuron's gradient must not vanish on its own region");
        }
        var crops = TopPatches.Crops(photos, patches);
        Assert.Equal(patches.Select(p => (long)p.Region.Width), crops.Select(c => c.Image.shape[2]));
        var perImage = TopPatches.BoxesPerImage(photos, patches);
        Assert.Equal(patches.Select(p => p.Image).Distinct().Count(), perImage.Count);
        Assert.Equal(patches.Count, perImage.Sum(t => t.Boxes.Count));
        Assert.Equal(patches.Count(p => p.Image == patches[0].Image), perImage[0].Boxes.Count);
        foreach (var t in photos)
            t.Dispose();
    }

    [Fact]
    public void A_scan_gives_each_channels_peak_over_all_views_of_each_image()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 4);
        var photos = Enumerable.Range(0, 4).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28, 42]);
        using var scan = TopPatches.Scan(model, views, "relu2", batchSize: 3);
        Assert.Equal(Enumerable.Range(0, 64), scan.Channels);
        using var peaks = scan.PeakPerImage();
        Assert.Equal(new long[] { 4, 64 }, peaks.shape);
        using var maps = model.Activations(views.Pixels, "relu2")["relu2"];
        using var scope = NewDisposeScope();
        for (int image = 0; image < 4; image++)
        {
            var own = tensor(views.Views.Select((v, i) => (v, i)).Where(x => x.v.Image == image).Select(x => (long)x.i).ToArray());
            Assert.True(peaks[image].allclose(maps.index_select(0, own).amax([0, 2, 3]), atol: 1e-5));
        }
        // Two layers from one pass give what each gives alone.
        var both = TopPatches.Scan(model, views, ["relu1", "relu2"], batchSize: 5);
        Assert.True(both["relu2"].Maps.allclose(scan.Maps, atol: 1e-6));
        using (var relu1 = TopPatches.Scan(model, views, "relu1"))
            Assert.True(both["relu1"].Maps.allclose(relu1.Maps, atol: 1e-6));
        foreach (var s in both.Values)
            s.Dispose();
        // The top patch of a channel is its peak in the image it comes from.
        var top = scan.Top(9, count: 1)[0];
        Assert.Equal(peaks[top.Image, 9].item<float>(), top.Activation);
        using var some = TopPatches.Scan(model, views, "relu2", [1, 2]);
        Assert.Contains("was not scanned", Assert.Throws<ArgumentOutOfRangeException>(() => some.Top(9)).Message);
        foreach (var t in photos)
            t.Dispose();
    }

    [Fact]
    public void The_most_selective_channels_each_prefer_a_different_image_most_strongly()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 8);
        using var views = CandidateViews.Whole(sample.Images);
        using var scan = TopPatches.Scan(model, views, "relu3");
        var chosen = scan.MostSelective(5);
        Assert.Equal(5, chosen.Count);
        Assert.Equal(5, chosen.Select(c => c.Image).Distinct().Count());
        Assert.Equal(chosen.Select(c => c.Preference).OrderByDescending(p => p), chosen.Select(c => c.Preference));
        // Brute force from the peaks: each channel's favourite image and how far it leads the runner-up.
        using var peaks = scan.PeakPerImage();
        var table = peaks.data<float>().ToArray();
        int images = 8, channels = 128;
        (int Image, float Preference) Of(int channel)
        {
            var column = Enumerable.Range(0, images).Select(i => table[i * channels + channel]).ToArray();
            var order = Enumerable.Range(0, images).OrderByDescending(i => column[i]).ToArray();
            return (order[0], column[order[0]] / Math.Max(column[order[1]], 1e-6f));
        }
        foreach (var (channel, image, preference) in chosen)
        {
            Assert.Equal((image, preference), Of(channel));
            // No other channel that prefers the same image prefers it more.
            Assert.All(Enumerable.Range(0, channels).Where(c => Of(c).Image == image), c => Assert.True(Of(c).Preference <= preference));
        }
    }

    /// <summary>
    /// A scan made by hand: <paramref name="maps"/> (images x channels x rows x columns) as the activations of
    /// single-channel 8 x 8 images, each its own view, with units whose fields are <paramref name="field"/>.
    /// </summary>
    static (CandidateViews Views, LayerScan Scan) HandMadeScan(float[,,,] maps, ReceptiveField field)
    {
        int images = maps.GetLength(0), channels = maps.GetLength(1);
        var pixels = (arange(images * 64f) / (images * 64f)).reshape(images, 1, 8, 8);
        var views = CandidateViews.Whole(pixels);
        var values = tensor(maps.Cast<float>().ToArray()).reshape(images, channels, maps.GetLength(2), maps.GetLength(3));
        return (views, new LayerScan(views, "hand", Enumerable.Range(0, channels).ToList(), values, field));
    }

    [Fact]
    public void Selectivity_is_the_top_regions_mean_over_the_mean_of_all_candidates()
    {
        // Fields of 4 x 4 pixels, 4 apart: the four quadrants of each 8 x 8 image, which never overlap.
        var quadrants = new ReceptiveField(4, 4, 1.5);
        var maps = new float[3, 4, 2, 2];
        maps[0, 0, 0, 0] = 9; maps[1, 0, 0, 1] = 6; maps[2, 0, 1, 0] = 3;   // 0: strong on one region in each of several images
        for (int i = 0; i < 3; i++)                                          // 1: the same on everything
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 2; x++)
                    maps[i, 1, y, x] = 2;
        maps[0, 2, 0, 0] = 12; maps[0, 2, 0, 1] = 12;                         // 2: strong on one image only
        var (views, scan) = HandMadeScan(maps, quadrants);                     // 3: silent
        using (views)
        using (scan)
        {
            // Top two regions, up to 3 per image. 0: 9 and 6 over a mean of 18 / 12 = 1.5 -> 5, from two images;
            // 1: 2 over 2 -> 1 (ties go to the first image); 2: 12 and 12 over 24 / 12 = 2 -> 6, one image; 3: silent -> 0.
            var ranked = scan.RankBySelectivity(regions: 2, perImage: 3);
            Assert.Equal([2, 0, 1, 3], ranked.Select(u => u.Channel));
            Assert.Equal([6, 5, 1, 0], ranked.Select(u => u.Selectivity), (a, b) => Math.Abs(a - b) < 1e-6);
            Assert.Equal([1, 2, 1, 1], ranked.Select(u => u.Images));
            Assert.Equal([9f, 6f], ranked[1].Top.Select(p => p.Activation));
            // One region per image: unit 2's second region is a silent one (12 and 0 over 2 -> 3), and unit 0 leads.
            var onePerImage = scan.RankBySelectivity(regions: 2, perImage: 1);
            Assert.Equal([0, 2, 1, 3], onePerImage.Select(u => u.Channel));
            Assert.Equal([5, 3, 1, 0], onePerImage.Select(u => u.Selectivity), (a, b) => Math.Abs(a - b) < 1e-6);
            Assert.Throws<ArgumentOutOfRangeException>(() => scan.RankBySelectivity(regions: 0));
        }
    }

    [Fact]
    public void Overlapping_regions_of_one_image_are_kept_once_and_the_same_region_of_another_image_is_kept()
    {
        // Fields of 6 x 6 pixels, 2 apart, starting at the image's corner: boxes (0, 0, 6, 6), (2, 0, 6, 6), (4, 0, 4, 6) along
        // the top row (the last one clipped by the border). IoU of the first two: 24 / 48 = 0.5; of the first and third: 12 / 48 = 0.25.
        var field = new ReceptiveField(6, 2, 2.5);
        var maps = new float[2, 1, 3, 3];
        maps[0, 0, 0, 0] = 10; maps[0, 0, 0, 1] = 9; maps[0, 0, 0, 2] = 8; maps[0, 0, 2, 2] = 1;
        maps[1, 0, 0, 1] = 7;
        var (views, scan) = HandMadeScan(maps, field);
        using (views)
        using (scan)
        {
            var top = scan.Top(0, count: 4, iouThreshold: 0.3, perImage: 3);
            // 9 overlaps 10 too much (0.5) and goes; 8 overlaps it by 0.25 and stays; image 1's 7 has the box of the 9 that
            // went, but in another image; 1's box (4, 4, 4, 4) overlaps the kept ones by 0.08 and 0.25.
            Assert.Equal([(0, new Region(0, 0, 6, 6), 10f), (0, new Region(4, 0, 4, 6), 8f), (1, new Region(2, 0, 6, 6), 7f), (0, new Region(4, 4, 4, 4), 1f)],
                top.Select(p => (p.Image, p.Region, p.Activation)));
            // At most two per image: image 0 is full after 8, so the fourth region is image 1's first silent one (in the
            // order of the map) that overlaps its 7 by at most 0.3: (0, 2, 6, 6), IoU 16 / 56 = 0.29; (0, 0) and (0, 2) overlap more.
            var two = scan.Top(0, count: 4, iouThreshold: 0.3, perImage: 2);
            Assert.Equal((1, new Region(0, 2, 6, 6), 0f, 1, 0), (two[3].Image, two[3].Region, two[3].Activation, two[3].Y, two[3].X));
        }
    }

    [Fact]
    public void Crops_as_seen_put_each_region_where_it_lies_in_its_field_on_grey()
    {
        // Fields of 6 x 6 pixels, 2 apart, the first one starting 2 pixels before the image: unit (0, 0) sees pixels 0-3 of
        // each side and padding before them; unit (1, 3) sees columns 4-7 and rows 0-5, and padding after column 7.
        var field = new ReceptiveField(6, 2, 0.5);
        var maps = new float[1, 1, 4, 4];
        maps[0, 0, 0, 0] = 5; maps[0, 0, 1, 3] = 4; maps[0, 0, 2, 1] = 3;
        var (views, scan) = HandMadeScan(maps, field);
        using (views)
        using (scan)
        {
            var top = scan.Top(0, count: 2, perImage: 2);
            Assert.Equal([new Region(0, 0, 4, 4), new Region(4, 0, 4, 6)], top.Select(p => p.Region));
            var crops = scan.CropsAsSeen(top);
            using var photo = views.Pixels[0];
            using var corner = full(1, 6, 6, 0.5f);
            corner[.., 2..6, 2..6] = photo[.., 0..4, 0..4];
            using var side = full(1, 6, 6, 0.5f);
            side[.., 0..6, 0..4] = photo[.., 0..6, 4..8];
            Assert.True(SynthesisTests.Identical(crops[0].Image, corner));
            Assert.True(SynthesisTests.Identical(crops[1].Image, side));
            Assert.Equal(["5.0", "4.0"], crops.Select(c => c.Caption));
            // Only the four units at rows and columns 1-2 see their whole field inside the image; of those, (2, 1) at
            // (0, 2, 6, 6) responds, with 3. Over those four candidates the mean is 3 / 4: selectivity 4; over all
            // sixteen, 12 / 16, and the top region is the 5: selectivity 5 / 0.75.
            Assert.Equal((16, 4), (scan.CandidateCount(), scan.CandidateCount(wholeFieldsOnly: true)));
            var whole = Assert.Single(scan.Top(0, count: 1, wholeFieldsOnly: true));
            Assert.Equal((new Region(0, 2, 6, 6), 3f, 2, 1), (whole.Region, whole.Activation, whole.Y, whole.X));
            Assert.Equal(4, scan.RankBySelectivity(regions: 1, wholeFieldsOnly: true)[0].Selectivity, 6);
            Assert.Equal(5 / 0.75, scan.RankBySelectivity(regions: 1)[0].Selectivity, 6);
        }
    }

    [Fact]
    public void A_unit_of_layer2_seen_at_the_largest_scale_maps_back_to_a_box_worked_out_by_hand()
    {
        var trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        // conv1 (7, stride 2, padding 3): size 7, jump 2; maxpool (3, 2, 1): 11, jump 4; four 3 x 3 convolutions of layer1:
        // 11 + 4 x 2 x 4 = 43; layer2's first (stride 2): 43 + 2 x 4 = 51, jump 8; three more: 51 + 3 x 2 x 8 = 99. Centres
        // stay on the grid (padding = half the kernel): start 0.
        var field = ReceptiveField.Of(ReceptiveField.PathTo(trunk, "layer2.1.relu2"));
        Assert.Equal(new ReceptiveField(99, 8, 0), field);
        // Unit (10, 20): centre (160, 80), corner 160 - 49 = 111 and 80 - 49 = 31, not clipped in a 224 x 224 view.
        Assert.Equal((111, 31, 99, 99), field.Box(10, 20, 224, 224));
        // A 600 x 400 photo with shorter side 448 is 672 x 448 (1.12 view pixels per photo pixel); its views start every 112 pixels.
        using var photo = zeros(3, 400, 600);
        using var views = CandidateViews.Of(trunk, [photo], [224, 448]);
        var view = views.Views.Single(v => v.ShorterSide == 448 && v.Crop == new Region(224, 224, 224, 224));
        Assert.Equal(1.12, view.ScaleX, 9);
        Assert.Equal(1.12, view.ScaleY, 9);
        // In the scaled photo the box is (335, 255) to (434, 354); in the photo 335 / 1.12 = 299.1 -> 299, 255 / 1.12 = 227.7 -> 227,
        // 434 / 1.12 = 387.5 -> 388, 354 / 1.12 = 316.1 -> 317 (rounded outwards).
        Assert.Equal(new Region(299, 227, 89, 90), view.ToImage(new Region(111, 31, 99, 99), 600, 400));
        // At shorter side 224 the photo is 336 x 224 and a view is the photo itself, at 0.56 view pixels per photo pixel.
        var small = views.Views.First(v => v.ShorterSide == 224);
        Assert.Equal(new Region(0, 0, 400, 400), small.ToImage(new Region(0, 0, 224, 224), 600, 400));
    }

    [Fact]
    public void Candidates_come_strongest_first_with_ties_in_index_order_across_every_stage()
    {
        // 3,000 values with many ties: more than the first stage (256) and the second (2,048) take.
        var values = Enumerable.Range(0, 3000).Select(i => (float)(i * 7 % 50)).ToArray();
        using var tensorValues = tensor(values);
        var expected = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).Select(i => (i, values[i]));
        Assert.Equal(expected, LayerScan.StrongestFirst(tensorValues));
        Assert.Equal(expected.Take(5), LayerScan.StrongestFirst(tensorValues).Take(5));
    }

    [Fact]
    public void Views_refuse_what_they_cannot_cut()
    {
        using var model = ToyModels.BrightnessWindows();
        using var photo = SquarePhoto();
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidateViews.Of(model, [photo], [16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidateViews.Of(model, [photo], [32], overlap: 1));
        Assert.Throws<ArgumentException>(() => CandidateViews.Of(model, [], [32]));
        using var batch = zeros(2, 1, 40, 60);
        Assert.Throws<ArgumentException>(() => CandidateViews.Of(model, [batch], [32]));
        using var views = CandidateViews.Of(model, [photo], [32]);
        Assert.Throws<ArgumentOutOfRangeException>(() => TopPatches.Find(model, views, "mean", channel: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TopPatches.Find(model, views, "mean", channel: -1));
    }
}
