//go:build !unix

package data

import (
	"io"
	"os"
)

func mapFile(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
