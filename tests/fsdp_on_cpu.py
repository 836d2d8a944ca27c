#!/usr/bin/env python
"""Run `spanish-llm pretrain` under accelerate's FSDP2 on CPU processes (gloo), as `accelerate launch` with an FSDP2
config runs it on GPUs. accelerate turns FSDP on only for accelerators, so this stand-in reports FSDP as the
distributed type and gives the state an FSDP2 plugin. On CPU, torch's full state dict with `cpu_offload` returns
views of storage that FSDP frees once it reshards, so the stand-in gathers the weights without offloading."""
import sys
import accelerate
from accelerate import FullyShardedDataParallelPlugin
from accelerate.utils import DistributedType
_init = accelerate.Accelerator.__init__
def init(self, *a, **k):
    _init(self, *a, **k)
    self.state.distributed_type = DistributedType.FSDP
    self.state.fsdp_plugin = FullyShardedDataParallelPlugin(fsdp_version=2, reshard_after_forward=True)
def get_state_dict(self, model, unwrap=True):
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    return {k: v.clone() for k, v in get_model_state_dict(model, options=StateDictOptions(full_state_dict=True)).items()}
accelerate.Accelerator.__init__, accelerate.Accelerator.get_state_dict = init, get_state_dict
# prepare() sets the state's type back to MULTI_CPU once it has sharded the model: keep reporting FSDP2
accelerate.Accelerator.distributed_type = property(lambda self: DistributedType.FSDP)
accelerate.state.AcceleratorState.is_fsdp2 = property(lambda self: True)
from spanish_llm.cli import main
sys.exit(main(sys.argv[1:]))
