"""`torch.utils.tensorboard.SummaryWriter` for `micrograd.tensor`: real TensorBoard event files,
written by the `tensorboard` package's own event-file writer (an optional extra:
`pip install tensorboard`; without it, making a writer says so in one line).

It records what the course's scripts record: scalars (`add_scalar`, `add_scalars`), text
(`add_text`), with torch's default folder (`runs/<date>_<host><comment>`), queueing and flushing,
and `purge_step`. The files are those torch writes: TensorBoard, or
`tensorboard.backend.event_processing.event_accumulator`, reads them back.
"""

from __future__ import annotations

import os
import time
from typing import Any

from micrograd.tensor.errors import TorchTypeError

__all__ = ["SummaryWriter"]

MISSING = (
    "SummaryWriter needs the tensorboard package, which is not installed: pip install tensorboard "
    "(or install this project's 'tensorboard' extra)"
)


def _tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError(MISSING) from None
    return event_pb2, summary_pb2, TensorProto, TensorShapeProto, TextPluginData, EventFileWriter


def _scalar_value(value: Any, what: str) -> float:
    """A number, a one-element Tensor or a numpy value, as a Python float."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            raise ValueError(f"{what}: the value must have one element") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # also a ValueError: torch's float(value) raises that for a string
        raise TorchTypeError(f"{what}: the value must be a number, got {type(value).__name__}")
    return float(value)


class SummaryWriter:
    """Writes scalars and text for TensorBoard into `log_dir`, as torch's SummaryWriter does."""

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        self._pb = _tensorboard()
        if not log_dir:
            import socket
            from datetime import datetime

            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", now + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._writers: dict[str, Any] = {}
        self._writer()

    def _writer(self, log_dir: str | None = None):
        """The event-file writer of `log_dir` (the main one by default), made when first needed
        (again after `close()`)."""
        event_pb2, *_, EventFileWriter = self._pb
        log_dir = self.log_dir if log_dir is None else log_dir
        writer = self._writers.get(log_dir)
        if writer is None:
            writer = EventFileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self._writers[log_dir] = writer
            if log_dir == self.log_dir and self.purge_step is not None:
                step = self.purge_step
                writer.add_event(
                    event_pb2.Event(step=step, file_version="brain.Event:2", wall_time=time.time())
                )
                start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
                writer.add_event(
                    event_pb2.Event(step=step, session_log=start, wall_time=time.time())
                )
                self.purge_step = None
        return writer

    def _add(self, summary, global_step, walltime, log_dir: str | None = None) -> None:
        event_pb2 = self._pb[0]
        event = event_pb2.Event(summary=summary)
        event.wall_time = time.time() if walltime is None else walltime
        if global_step is not None:
            event.step = int(global_step)
        self._writer(log_dir).add_event(event)

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Record one number under `tag` at `global_step` (a Tensor's `.item()`, or a number)."""
        _, summary_pb2, TensorProto, *_ = self._pb
        value = _scalar_value(scalar_value, "add_scalar")
        if new_style:
            tensor = (
                TensorProto(double_val=[value], dtype="DT_DOUBLE")
                if double_precision
                else TensorProto(float_val=[value], dtype="DT_FLOAT")
            )
            metadata = summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
            )
            entry = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)
        else:
            entry = summary_pb2.Summary.Value(tag=tag, simple_value=value)
        self._add(summary_pb2.Summary(value=[entry]), global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several numbers in one chart: each goes to its own run folder
        `<log_dir>/<main_tag>_<tag>`, under the tag `main_tag` (torch's layout)."""
        _, summary_pb2, *_ = self._pb
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            entry = summary_pb2.Summary.Value(
                tag=main_tag, simple_value=_scalar_value(value, "add_scalars")
            )
            self._add(summary_pb2.Summary(value=[entry]), global_step, walltime, folder)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Record a text (shown as Markdown by TensorBoard)."""
        _, summary_pb2, TensorProto, TensorShapeProto, TextPluginData, _ = self._pb
        if not isinstance(text_string, str):
            raise TypeError(
                f"add_text: text_string must be a str, got {type(text_string).__name__}"
            )
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name="text", content=TextPluginData(version=0).SerializeToString()
            )
        )
        tensor = TensorProto(
            dtype="DT_STRING",
            string_val=[text_string.encode("utf_8")],
            tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
        )
        entry = summary_pb2.Summary.Value(
            tag=tag + "/text_summary", metadata=metadata, tensor=tensor
        )
        self._add(summary_pb2.Summary(value=[entry]), global_step, walltime)

    def flush(self) -> None:
        """Write every queued event to disk now."""
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files; a later `add_*` opens new ones."""
        for writer in self._writers.values():
            writer.flush()
            writer.close()
        self._writers = {}

    def __enter__(self) -> SummaryWriter:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
