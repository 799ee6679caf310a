// Command plotmetrics draws fields of a pretraining metrics.jsonl over
// steps into a PNG (gonum/plot): the loss curves of the README.
//
//	go run ./bench/plotmetrics -in runs/ae/metrics.jsonl -fields recon,eval_psnr -out docs/pretrain/ae/curves.png
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	in := flag.String("in", "", "metrics.jsonl")
	fields := flag.String("fields", "loss", "comma-separated fields, one panel each")
	out := flag.String("out", "curves.png", "PNG to write")
	title := flag.String("title", "", "title prefix")
	logs := flag.String("log", "", "comma-separated fields drawn on a log scale")
	flag.Parse()
	logScale := map[string]bool{}
	for _, k := range strings.Split(*logs, ",") {
		logScale[k] = true
	}
	if err := run(*in, strings.Split(*fields, ","), *out, *title, logScale); err != nil {
		fmt.Fprintln(os.Stderr, "plotmetrics:", err)
		os.Exit(1)
	}
}

func run(in string, fields []string, out, title string, logScale map[string]bool) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	series := make([]plotter.XYs, len(fields))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		step, ok := m["step"].(float64)
		if !ok {
			continue
		}
		for i, k := range fields {
			if v, ok := m[k].(float64); ok {
				series[i] = append(series[i], plotter.XY{X: step, Y: v})
			}
		}
	}
	img := vgimg.New(vg.Length(5*len(fields))*vg.Inch, 3.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(fields), PadX: vg.Millimeter * 4}
	for i, k := range fields {
		p := plot.New()
		p.Title.Text = strings.TrimSpace(title + " " + k)
		p.X.Label.Text = "step"
		p.Y.Label.Text = k
		if logScale[k] {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		if err := plotutil.AddLines(p, series[i]); err != nil {
			return err
		}
		p.Draw(tiles.At(dc, i, 0))
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}
