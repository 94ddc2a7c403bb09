package graph

import "testing"

func TestParityBertSeqCls(t *testing.T)   { checkParity(t, "bert_seq_cls") }
func TestParityBertTokenCls(t *testing.T) { checkParity(t, "bert_token_cls") }
