"""`Module`: parameters, buffers and submodules registered on attribute assignment.

One recursive walk, `named_modules`, visits the tree once; `named_parameters`, `named_buffers`,
`state_dict`, `load_state_dict`, `train`/`eval` and `zero_grad` are all built on it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.compile import _capture, replayed
from autograd.ops import check_device
from autograd.tensor import HookHandle, _check_callable


def _check_name(name: Any, kind: str) -> None:
    """A name that can be an attribute and a state_dict key, as PyTorch checks it."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name or not name:
        raise KeyError(f"{kind} name can't contain '.' or be empty, got {name!r}")


def _checked_index(index: Any, length: int, container: Module) -> int:
    """A position in a ModuleList, Sequential or ParameterList, checked as PyTorch does."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, not "
                        f"{type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{type(container).__name__}: index {index} is out of range for "
                         f"{length} entries")
    return int(index)


class Parameter(Tensor):
    """A tensor that requires grad and registers itself when assigned to a `Module` attribute.

    >>> import numpy as np
    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
    >>> w.requires_grad, w.shape
    (True, (2, 3))
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)  # a tensor's memory and version
        if not self.data.flags.writeable:  # an optimizer's in-place step would fail much later
            raise ValueError(f"Parameter: the array of shape {self.data.shape} is read-only (a "
                             "broadcast view or a frozen array); pass a writable copy, "
                             "np.array(data)")

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _assign(target: Tensor, value: Any) -> None:
    """Overwrite `target`'s values in place (cast to its dtype, broadcast); the engine bumps its
    version counter, so a graph which saved it refuses to backward instead of using the new
    values."""
    with ag.no_grad():
        target[...] = value


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model. Subclasses call `super().__init__()` first, then
    assign `Parameter`s, submodules and (via `register_buffer`) buffers as attributes, and
    define `forward`; calling the module calls `forward`.

    >>> import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    training: bool

    def __init__(self) -> None:
        # Registered objects live in these dicts and, for fast attribute access, in __dict__.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # Forward hooks: lists made on the first registration (class-level None until then).
    _forward_pre_hooks: list | None = None
    _forward_hooks: list | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _capture.recorder is not None:  # ag.compile: its tape holds for this training mode
            _capture.recorder.module(self)
        if self._forward_pre_hooks is None and self._forward_hooks is None:
            return self.forward(*args, **kwargs)
        for hook in tuple(self._forward_pre_hooks or ()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks or ()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> HookHandle:
        """Call `hook(module, args)` before each forward; a returned value replaces the
        positional arguments (a non-tuple becomes the only one). `handle.remove()` undoes."""
        _check_callable(hook, "register_forward_pre_hook")
        if self._forward_pre_hooks is None:
            object.__setattr__(self, "_forward_pre_hooks", [])
        self._forward_pre_hooks.append(hook)
        return HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> HookHandle:
        """Call `hook(module, args, output)` after each forward; a returned value replaces the
        output. `handle.remove()` undoes."""
        _check_callable(hook, "register_forward_hook")
        if self._forward_hooks is None:
            object.__setattr__(self, "_forward_hooks", [])
        self._forward_hooks.append(hook)
        return HookHandle(self._forward_hooks, hook)

    # ---- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called; "
                f"call super().__init__() first in {type(self).__name__}.__init__")
        if isinstance(value, Parameter):
            self._forget(name, keep=self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (nn.Module or None expected)")
            self._modules[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Unregister `name` from every registry but `keep`, where it is about to be replaced
        and so keeps its place (Sequential's order, state_dict's)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent.discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or None, a declared but absent parameter such as a missing bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter {name!r} "
                            "(nn.Parameter or None expected)")
        _check_name(name, "parameter")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (BatchNorm's running statistics):
        it is saved in `state_dict` (unless `persistent=False`) and not trained."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = ag.tensor(np.asarray(tensor))
        _check_name(name, "buffer")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child called `name` (what attribute assignment does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, "module")
        self._forget(name, keep=self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # ---- the one walk over the tree ----------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every submodule, parents first: each
        once, or with `remove_duplicate=False` under every name it has (as the state dict)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def _named_members(self, registry: str, prefix: str = "",
                       recurse: bool = True) -> Iterator[tuple[str, Any]]:
        walk = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for module_prefix, module in walk:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "",
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), e.g. `('0.weight', ...)`; a shared parameter comes once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "",
                      recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, child) for each direct submodule, once (under its first name if it has two),
        as PyTorch's."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path `target` ('' is this module), as in named_modules()."""
        module = self
        for name in target.split(".") if target else []:
            if not isinstance(module._modules.get(name), Module):
                raise AttributeError(f"get_submodule: {type(module).__name__} has no submodule "
                                     f"{name!r} (in {target!r})")
            module = module._modules[name]
        return module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule and then on this one (e.g. to initialise weights):
        each child's tree in order, children before their parent, as PyTorch does."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ---------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (batch statistics, active dropout) on this module and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: running statistics in BatchNorm, Dropout is the identity."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    @replayed  # ag.compile replays the call: it sets the gradients the replay finds
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients (set them to None, or to zeros in place)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.data.fill(0)

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Module:
        """Cast floating-point parameters and buffers to a dtype, in place (the same Parameter
        objects get new arrays, so build the optimizer after this): `model.to(np.float64)`.
        A device, positional or `device=`, is accepted only as "cpu", for PyTorch code."""
        for arg in args:
            if isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        check_device(device, "to")
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                raise ValueError(f"to(): expected a dtype or 'cpu', got {dtype!r}") from None
            if dtype.kind != "f":
                raise ValueError(f"to(): can only cast to a floating dtype, got {dtype}")
            for _, value in self._state_items():
                if value.dtype.kind == "f" and value.dtype != dtype:
                    value.data = value.data.astype(dtype)
                    value._version[0] += 1  # a graph that saved the old array must not run
                    value.grad = None
        return self

    def cpu(self) -> Module:
        """`self`: the engine runs on the CPU only."""
        return self

    def float(self) -> Module:
        """Parameters and floating buffers to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Parameters and floating buffers to float64 (e.g. for gradcheck)."""
        return self.to(np.float64)

    # ---- state -----------------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        for prefix, module in self.named_modules(remove_duplicate=False):
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None and name not in module._non_persistent:
                        yield (f"{prefix}.{name}" if prefix else name), value

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and persistent buffers by dotted name, as NumPy arrays. They are copies:
        a state dict taken now keeps its values while training goes on."""
        return OrderedDict((name, value.data.copy()) for name, value in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy the values of `state_dict` into this module's parameters and buffers in place.

        A wrong shape or a dtype that does not cast within its kind (complex, text or objects
        into a float parameter) is always an error naming the key; a missing or an unexpected
        key is one when `strict`. Every entry is checked before any is copied, so a failed
        load changes nothing.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays (a state "
                            f"dict), got {type(state_dict).__name__}")
        own = OrderedDict(self._state_items())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        values = {key: np.asarray(state_dict[key]) for key in own if key in state_dict}
        errors = []
        for key, value in values.items():
            target = own[key]
            if not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
                errors.append(f"dtype mismatch for {key}: cannot copy a value of dtype "
                              f"{value.dtype} from the state dict into the current model's "
                              f"{target.dtype}")
            elif value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a value of shape "
                              f"{value.shape} from the state dict, the shape in the current "
                              f"model is {target.shape}")
        if strict and missing:
            errors.append("missing key(s): " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            errors.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        if errors:
            raise RuntimeError(f"error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, value in values.items():
            _assign(own[key], value)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """PyTorch's layout: `extra_repr()` inline when it is one line and there are no
        children, else its lines and then the children's, one a line."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                       for name, child in self._modules.items()]
        if len(extra_lines) <= 1 and not child_lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra_lines + child_lines) + "\n)"


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children named '0', '1', ... in order, with
    len, iteration, indexing, slicing, append and extend."""

    def append(self, module: Module) -> _ModuleSequence:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _ModuleSequence:
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)._of(modules[index])
        return modules[_checked_index(index, len(modules), self)]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[index]
        self.add_module(name, module)

    @classmethod
    def _of(cls, modules: list[Module]) -> _ModuleSequence:
        return cls().extend(modules)


class Sequential(_ModuleSequence):
    """Modules applied in order: `Sequential(Linear(4, 8), ReLU(), Linear(8, 2))(x)`.
    Children are named '0', '1', ... (or by the keys of one mapping given instead)."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            self.extend(modules)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain list's would not be).
    It has no forward: iterate over it in yours."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        self.extend(modules or ())


class ModuleDict(Module):
    """Modules by name, registered (as attributes would be), in insertion order; indexing,
    `in`, `len`, iteration over the names, `keys`, `values`, `items`, `update`, `pop`."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        self.update(modules or {})

    def __getitem__(self, name: str) -> Module:
        return self._modules[name]

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, module)

    def __delitem__(self, name: str) -> None:
        delattr(self, name)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        for name, module in (modules.items() if isinstance(modules, Mapping) else modules):
            self[name] = module

    def pop(self, name: str) -> Module:
        module = self[name]
        del self[name]
        return module

    def clear(self) -> None:
        for name in list(self._modules):
            del self[name]


class ParameterList(Module):
    """A list of parameters, registered as '0', '1', ... (a plain list's would not be). A
    tensor or array given is wrapped in a `Parameter`."""

    def __init__(self, values: Iterable[Any] | None = None):
        super().__init__()
        self.extend(values or ())

    @staticmethod
    def _as_parameter(value: Any) -> Parameter:
        if isinstance(value, Parameter):
            return value
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(f"ParameterList: expected a Parameter, tensor or array, got "
                            f"{type(value).__name__}")
        return Parameter(value)

    def extra_repr(self) -> str:
        return "\n".join(f"  ({name}): Parameter containing: [{p.dtype} of size "
                         f"{'x'.join(map(str, p.shape))}]" for name, p in self._parameters.items())

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self)), self._as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __getitem__(self, index: int) -> Parameter:
        return list(self._parameters.values())[_checked_index(index, len(self), self)]

    def __setitem__(self, index: int, value: Any) -> None:
        self.register_parameter(list(self._parameters)[index], self._as_parameter(value))
