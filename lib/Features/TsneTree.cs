namespace WhatNetworksLearn.Features;

/// <summary>
/// The quadtree Barnes-Hut t-SNE uses to approximate the repulsive forces of a 2-D embedding.
/// Every cell stores the centre of mass and the number of the points inside it; a cell that looks small from a
/// point (its width is less than <c>theta</c> times its distance) acts on that point as one heavy point at its centre
/// of mass, so each point interacts with O(log N) cells instead of N - 1 points.
/// </summary>
/// <remarks>
/// Rebuilt every iteration, so it is kept in flat arrays that are reused: the points are reordered so that every
/// cell holds a contiguous range of them, and the cells are stored depth-first, each with the index just past its
/// subtree (<see cref="Node.Next"/>). Walking the tree is then a loop over one array, without recursion, a stack
/// or allocation. Cells are split at their centre, as in scikit-learn's quadtree, until they hold at most
/// <see cref="LeafCapacity"/> points (scikit-learn: one); a leaf too near to be summarised acts point by point,
/// exactly. A point never acts on itself: the cells that contain it are always opened.
/// </remarks>
internal sealed class TsneTree
{
    /// <summary>A cell: centre of mass, the square of its longer side, its points [Start, End) and the next cell outside it.</summary>
    struct Node
    {
        public double X, Y, SquaredWidth;
        public int Start, End, Next;
    }

    const int LeafCapacity = 4;
    const int MaxDepth = 50; // cells this deep are ~1e-15 of the root: only duplicated points get there

    Node[] nodes = new Node[256];
    int nodeCount;
    int[] order = [];
    double[] xs = [], ys = [];

    /// <summary>The index (into the embedding) of the point at <paramref name="position"/> in the tree's order.</summary>
    public int PointAt(int position) => order[position];

    /// <summary>Builds the tree over an embedding stored as x0, y0, x1, y1, ...</summary>
    public void Build(ReadOnlySpan<double> embedding)
    {
        int n = embedding.Length / 2;
        if (order.Length != n)
        {
            order = new int[n];
            xs = new double[n];
            ys = new double[n];
        }
        double minX = double.PositiveInfinity, minY = double.PositiveInfinity;
        double maxX = double.NegativeInfinity, maxY = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            double x = xs[i] = embedding[2 * i], y = ys[i] = embedding[2 * i + 1];
            minX = Math.Min(minX, x);
            maxX = Math.Max(maxX, x);
            minY = Math.Min(minY, y);
            maxY = Math.Max(maxY, y);
        }
        // As scikit-learn: the root is the bounding box, widened a little so that no point lies on its edge.
        double width = Math.Max(maxX - minX, 1e-6) * 1.001, height = Math.Max(maxY - minY, 1e-6) * 1.001;
        double centreX = (minX + maxX) / 2, centreY = (minY + maxY) / 2;
        nodeCount = 0;
        if (n > 0)
            BuildCell(0, n, centreX - width / 2, centreY - height / 2, centreX + width / 2, centreY + height / 2, 0);
    }

    void BuildCell(int start, int end, double x0, double y0, double x1, double y1, int depth)
    {
        int cell = nodeCount++;
        if (cell == nodes.Length)
            Array.Resize(ref nodes, 2 * nodes.Length);
        double sumX = 0, sumY = 0;
        for (int p = start; p < end; p++)
        {
            sumX += xs[p];
            sumY += ys[p];
        }
        double side = Math.Max(x1 - x0, y1 - y0);
        nodes[cell] = new Node { X = sumX / (end - start), Y = sumY / (end - start), SquaredWidth = side * side, Start = start, End = end };

        if (end - start > LeafCapacity && depth < MaxDepth)
        {
            double midX = (x0 + x1) / 2, midY = (y0 + y1) / 2;
            int splitY = Partition(start, end, ys, midY);     // [start, splitY): lower half
            int splitLow = Partition(start, splitY, xs, midX); // lower left, then lower right
            int splitHigh = Partition(splitY, end, xs, midX);  // upper left, then upper right
            if (splitLow > start) BuildCell(start, splitLow, x0, y0, midX, midY, depth + 1);
            if (splitY > splitLow) BuildCell(splitLow, splitY, midX, y0, x1, midY, depth + 1);
            if (splitHigh > splitY) BuildCell(splitY, splitHigh, x0, midY, midX, y1, depth + 1);
            if (end > splitHigh) BuildCell(splitHigh, end, midX, midY, x1, y1, depth + 1);
        }
        nodes[cell].Next = nodeCount; // a leaf is the cell whose next is the one right after it
    }

    /// <summary>Moves the points of [start, end) whose <paramref name="key"/> is below <paramref name="split"/> to the front; returns where the rest begin.</summary>
    int Partition(int start, int end, double[] key, double split)
    {
        int i = start, j = end - 1;
        while (true)
        {
            while (i <= j && key[i] < split) i++;
            while (i <= j && !(key[j] < split)) j--; // written so that even NaN goes to one side
            if (i >= j)
                return i;
            (order[i], order[j]) = (order[j], order[i]);
            (xs[i], xs[j]) = (xs[j], xs[i]);
            (ys[i], ys[j]) = (ys[j], ys[i]);
        }
    }

    /// <summary>
    /// The repulsion on the point at <paramref name="position"/> (in the tree's order): returns its share of the
    /// normalisation, sum over j of (1 + |y_i - y_j|^2)^-1, and sets the unnormalised force,
    /// sum over j of (1 + |y_i - y_j|^2)^-2 (y_i - y_j). Cells with width^2 &lt; theta^2 distance^2 are summarised;
    /// <paramref name="squaredTheta"/> = 0 gives the exact sums.
    /// </summary>
    public double Repulsion(int position, double squaredTheta, out double forceX, out double forceY)
    {
        var cells = nodes;
        int count = nodeCount;
        var px = xs;
        var py = ys;
        double x = px[position], y = py[position];
        double z = 0, fx = 0, fy = 0;
        int c = 0;
        while (c < count)
        {
            ref readonly Node cell = ref cells[c];
            double dx = x - cell.X, dy = y - cell.Y, d2 = dx * dx + dy * dy;
            bool containsSelf = (uint)(position - cell.Start) < (uint)(cell.End - cell.Start);
            if (!containsSelf && cell.SquaredWidth < squaredTheta * d2)
            {
                double q = 1 / (1 + d2), size = cell.End - cell.Start, m = size * q * q;
                z += size * q;
                fx += m * dx;
                fy += m * dy;
                c = cell.Next;
            }
            else if (cell.Next == c + 1)
            {
                for (int p = cell.Start; p < cell.End; p++)
                {
                    if (p == position)
                        continue;
                    double ex = x - px[p], ey = y - py[p];
                    double q = 1 / (1 + ex * ex + ey * ey), m = q * q;
                    z += q;
                    fx += m * ex;
                    fy += m * ey;
                }
                c = cell.Next;
            }
            else
            {
                c++;
            }
        }
        forceX = fx;
        forceY = fy;
        return z;
    }
}
