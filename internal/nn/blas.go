package nn

// blasName names the BLAS behind gorgonia's G.WhichBLAS (and so behind the
// owned operators' GEMMs); the openblas build tag replaces it.
var blasName = "gonum (pure Go)"

// BLASName names the BLAS in use.
func BLASName() string { return blasName }
