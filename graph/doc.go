// Package graph builds Hugging Face transformer architectures as GoMLX graphs: LLaMA (Mistral, Qwen2), GPT-2,
// GPT-Neo, GPT-NeoX, OPT, BERT and RoBERTa with their task heads, under HF's tensor names, so a checkpoint's
// safetensors bind to parameters one to one. Models are split into HiFT units (Model.Units); forward passes,
// gradients (RunForward, Forwarder), generation (Generate), LoRA adapters, and GGUF and ONNX export/import
// live here too.
//
// Where to start: LoadModel reads a checkpoint folder (config.json + weights) into a Model and its weights;
// NewBackend picks the backend (pure-Go SimpleGo by default, XLA with a PJRT plugin); RunForward runs a batch
// (see Example). Errors a caller may want to tell apart: ErrUnsupportedArchitecture and ErrBadConfig (with
// errors.Is), and fs.ErrNotExist for a missing file.
package graph
