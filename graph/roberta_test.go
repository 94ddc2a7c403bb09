package graph

import "testing"

func TestParityRobertaSeqCls(t *testing.T) { checkParity(t, "roberta_seq_cls") }
func TestParityRobertaQA(t *testing.T)     { checkParity(t, "roberta_qa") }
