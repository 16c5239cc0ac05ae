package main

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// seriesColors are distinct, print-safe colours for up to seven series.
var seriesColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// plotSweep draws the thesis's figure layout (Figures 5.1, 5.4): mean
// latency with its confidence interval on top, throughput below, both
// against the number of clients, one line per server.
func plotSweep(w io.Writer, title string, all []series, ci float64) error {
	lat := plot.New()
	lat.Title.Text = title
	lat.Y.Label.Text = fmt.Sprintf("Mean latency (ms), %.0f%% CI", ci*100)
	lat.X.Label.Text = "Clients"
	thr := plot.New()
	thr.Y.Label.Text = "Throughput (K req/s)"
	thr.X.Label.Text = "Clients"
	for _, p := range []*plot.Plot{lat, thr} {
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		p.Legend.XOffs = vg.Millimeter
		p.Y.Min = 0
		p.X.Tick.Marker = integerTicks{}
	}

	for i, s := range all {
		c := seriesColors[i%len(seriesColors)]
		latPts := make(plotter.XYs, len(s.points))
		errs := make(plotter.YErrors, len(s.points))
		thrPts := make(plotter.XYs, len(s.points))
		for j, p := range s.points {
			latPts[j] = plotter.XY{X: float64(p.clients), Y: p.meanUs / 1000}
			errs[j].Low, errs[j].High = p.ciUs/1000, p.ciUs/1000
			thrPts[j] = plotter.XY{X: float64(p.clients), Y: p.throughput / 1000}
		}
		for _, pp := range []struct {
			p   *plot.Plot
			pts plotter.XYs
		}{{lat, latPts}, {thr, thrPts}} {
			line, points, err := plotter.NewLinePoints(pp.pts)
			if err != nil {
				return err
			}
			line.Color, points.Color = c, c
			line.Width = vg.Points(1.5)
			points.Shape = draw.CircleGlyph{}
			pp.p.Add(line, points)
			pp.p.Legend.Add(s.name, line, points)
		}
		bars, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{latPts, errs})
		if err != nil {
			return err
		}
		bars.Color = c
		lat.Add(bars)
	}

	maxClients, maxLat, maxThr := 1, 0.0, 0.0
	for _, s := range all {
		for _, p := range s.points {
			maxClients = max(maxClients, p.clients)
			maxLat = max(maxLat, (p.meanUs+p.ciUs)/1000)
			maxThr = max(maxThr, p.throughput/1000)
		}
	}
	// Headroom above the highest point keeps it clear of the legend and title.
	lat.Y.Max, thr.Y.Max = 1.2*maxLat, 1.2*maxThr
	for _, p := range []*plot.Plot{lat, thr} {
		// Keep the first and last points off the frame.
		p.X.Min, p.X.Max = 0.5, float64(maxClients)+0.5
	}

	return writeStacked(w, lat, thr)
}

// writeStacked draws plots one above the other, their axes aligned, as
// one PNG of the thesis's figure size.
func writeStacked(w io.Writer, plots ...*plot.Plot) error {
	const width, height = 16 * vg.Centimeter, 18 * vg.Centimeter
	img := vgimg.New(width, height)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, tiles, draw.New(img))
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// integerTicks labels whole client counts only.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for v := int(min); float64(v) <= max; v++ {
		if float64(v) >= min {
			ts = append(ts, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
		}
	}
	return ts
}
