package world

import "math"

func frac(v float64) float64              { return v - math.Floor(v) }
func floor(v float64) float64             { return math.Floor(v) }
func sin(v float64) float64               { return math.Sin(v) }
func cosSin(a float64) (float64, float64) { return math.Cos(a), math.Sin(a) }
