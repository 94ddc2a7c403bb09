package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Terminal reports whether w is a terminal, and its width in columns (80 when it cannot be read).
func Terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		cols = 80
	}
	return true, cols
}

// Duration writes d as people read it: 850ms, 12.4s, 4m05s, 2h03m.
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "?"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Bar is a live progress bar on a terminal; on anything else it writes nothing (its owner prints plain lines).
type Bar struct {
	bar   *progressbar.ProgressBar
	width int
}

// NewBar starts a bar of total units on w when tty is true (width: the terminal's columns); otherwise the bar
// is inert. The bar shows the percentage, elapsed time and ETA; Describe sets the text after it.
func NewBar(w io.Writer, tty bool, width, total int) *Bar {
	b := &Bar{width: width}
	if !tty || total <= 0 {
		return b
	}
	if b.width <= 0 {
		b.width = 80
	}
	b.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(10),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	return b
}

// Live reports whether the bar is drawn.
func (b *Bar) Live() bool { return b.bar != nil }

// Describe sets the text after the bar, cut to fit the terminal's width so the line never wraps.
func (b *Bar) Describe(s string) {
	if b.bar == nil {
		return
	}
	// The bar itself takes up to about 40 columns: "  12% |██        |  [1m2s:8m30s] ".
	if room := b.width - 40; len([]rune(s)) > room {
		if room < 1 {
			s = ""
		} else {
			s = string([]rune(s)[:room-1]) + "…"
		}
	}
	b.bar.Describe(s)
}

// Set moves the bar to n units done.
func (b *Bar) Set(n int) {
	if b.bar != nil {
		_ = b.bar.Set(n)
	}
}

// Clear erases the bar's line so that a permanent line can be written; the next Set or Describe redraws it.
func (b *Bar) Clear() {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
}

// Finish removes the bar for good.
func (b *Bar) Finish() {
	if b.bar != nil {
		_ = b.bar.Clear()
		_ = b.bar.Exit()
		b.bar = nil
	}
}
