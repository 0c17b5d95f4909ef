package tools

import (
	"bytes"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// Chart size: readable in a chat, small enough to send (about 20 kB).
const (
	chartWidth  = 16 * vg.Centimeter
	chartHeight = 8 * vg.Centimeter
)

var seriesColor = color.RGBA{R: 0xff, G: 0x9d, B: 0x00, A: 0xff} // Hugging Face yellow-orange

// drawSeries draws points as a line over time (UTC) and returns the PNG.
func drawSeries(title, unit string, points []hfapi.MetricPoint) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (UTC)"
	p.Y.Label.Text = unit
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04"}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, len(points))
	for i, pt := range points {
		xys[i] = plotter.XY{X: float64(pt.Time.Unix()), Y: pt.Value}
	}
	line, marks, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, err
	}
	line.Color, line.Width = seriesColor, vg.Points(1.5)
	marks.Color, marks.Radius = seriesColor, vg.Points(1.5)
	p.Add(line, marks)
	w, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
