"""External sensors streamed through the socket give the same reps as the batch engine."""

from __future__ import annotations

from web_client import LiveServer, collect_until, receive, send
from websockets.sync.client import connect

from spinecoach.exercises import detect_exercise
from spinecoach.motion import motion_process
from spinecoach.sim import simulate
from spinecoach.web.client_messages import client_messages


def test_streamed_samples_give_the_batch_engines_reps(live_server: LiveServer) -> None:
    recording = simulate("pelvic-tilt", seed=5, reps=4)
    frames, info = motion_process(recording)
    batch = detect_exercise(
        frames, "pelvic-tilt", annotations=recording.events, calibrated_position=info["position"]
    )
    assert len(batch.reps) == 4
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="external")
        for message in client_messages(recording):
            send(ws, **message)
        send(ws, type="stop")
        messages = collect_until(ws, "summary", timeout_s=60.0)
    assert [m for m in messages if m["type"] == "error"] == []
    reps = [m["rep"] for m in messages if m["type"] == "rep"]
    expected = [rep.as_dict() for rep in batch.reps]
    assert [(r["start_s"], r["end_s"], r["faults"], r["quality"]) for r in reps] == [
        (r["start_s"], r["end_s"], r["faults"], r["quality"]) for r in expected
    ]
    assert [r["index"] for r in messages[-1]["result"]["reps"]] == [1, 2, 3, 4]
    assert any(m["type"] == "cue" for m in messages)
    assert any(m["type"] == "state" and m["calibrated"] for m in messages)


def test_external_session_errors_keep_the_session(live_server: LiveServer) -> None:
    recording = simulate("pelvic-tilt", seed=6, reps=1)
    messages = [m for m in client_messages(recording) if m["type"] == "samples"][:4]
    with connect(live_server.ws_url) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="external", placements=["lower"])
        assert receive(ws)["type"] == "state"
        lower = [m for m in messages if m["placement"] == "lower"]
        upper = next(m for m in messages if m["placement"] == "upper")
        send(ws, **lower[0])
        send(ws, **lower[0])  # the same batch again
        assert collect_until(ws, "error")[-1]["code"] == "out-of-order"
        send(ws, **upper)
        assert collect_until(ws, "error")[-1]["code"] == "unknown-placement"
        send(ws, **{**lower[1], "rate_hz": 50.0})
        assert collect_until(ws, "error")[-1]["code"] == "rate-changed"
        send(ws, type="stop")
        summary = collect_until(ws, "summary")[-1]
    assert summary["result"]["reps"] == []
