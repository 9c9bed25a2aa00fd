import numpy as np, torch
f32=np.float32
rng=np.random.default_rng(1)
v=(np.abs(rng.standard_normal(100000))*rng.choice([1e-6,1e-2,1,100],100000)).astype(f32)
exact=np.sqrt(v.astype(np.float64)).astype(f32)
npv=np.sqrt(v); tv=torch.from_numpy(v.copy()).sqrt().numpy()
print("numpy vs exact", np.sum(npv!=exact), "torch vs exact", np.sum(tv!=exact))
d=tv.view(np.int32).astype(np.int64)-exact.view(np.int32)
print(np.unique(d, return_counts=True))
d=npv.view(np.int32).astype(np.int64)-exact.view(np.int32)
print(np.unique(d, return_counts=True))
import numpy; print(numpy.show_runtime() if False else numpy.__version__)
