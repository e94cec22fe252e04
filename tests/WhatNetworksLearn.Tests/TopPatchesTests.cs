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
