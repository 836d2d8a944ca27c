#!/usr/bin/env python
"""Run `spanish-llm pretrain` under accelerate's FSDP2 on CPU processes (gloo), as on GPUs:

    accelerate launch --config_file experiments/accelerate/fsdp-8gpu.yaml --num_processes 2 tests/fsdp_on_cpu.py pretrain ...

accelerate turns FSDP on only for accelerators, so this stand-in reports FSDP2 as the distributed type; the plugin
reads the rest of the shipped config (wrap policy, resharding) from the FSDP_* variables accelerate launch sets.
On CPU, torch's full state dict with `cpu_offload` returns views of storage that FSDP frees once it reshards, so
the stand-in gathers the weights without offloading. Everything else is the trainer's own FSDP path."""
import sys
import torch
import accelerate
from accelerate import FullyShardedDataParallelPlugin
from accelerate.utils import DistributedType
_init = accelerate.Accelerator.__init__
def init(self, *a, **k):
    _init(self, *a, **k)
    self.state.distributed_type = DistributedType.FSDP
    self.state.fsdp_plugin = FullyShardedDataParallelPlugin(fsdp_version=2)   # the rest from FSDP_* set by accelerate launch
def get_state_dict(self, model, unwrap=True):
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    return {k: v.clone() for k, v in get_model_state_dict(model, options=StateDictOptions(full_state_dict=True)).items()}
_prepare = accelerate.Accelerator.prepare
def prepare(self, *a, **k):   # names the sharded modules (the config's wrap policy at work)
    out = _prepare(self, *a, **k)
    from torch.distributed.fsdp import FSDPModule
    flat = lambda x: [y for z in x for y in flat(z)] if isinstance(x, (list, tuple)) else [x]
    names = [type(m).__name__ for o in flat(out) if isinstance(o, torch.nn.Module) for m in o.modules() if isinstance(m, FSDPModule)]
    if self.is_main_process: print(f"fsdp_on_cpu: sharded {' '.join(names)}", file=sys.stderr, flush=True)
    return out
accelerate.Accelerator.__init__, accelerate.Accelerator.get_state_dict = init, get_state_dict
accelerate.Accelerator.prepare = prepare
# prepare() sets the state's type back to MULTI_CPU once it has sharded the model: keep reporting FSDP2
accelerate.Accelerator.distributed_type = property(lambda self: DistributedType.FSDP)
accelerate.state.AcceleratorState.is_fsdp2 = property(lambda self: True)
from spanish_llm.cli import main
sys.exit(main(sys.argv[1:]))
