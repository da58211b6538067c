"""Video rooms for meetings behind one small interface (docs/video.md).

`get_provider()` returns the adapter OA_VIDEO_PROVIDER names: Janus (self-hosted default), Jitsi, BigBlueButton,
or "none" (in-person meetings only). Callers (meetings/) store `RoomInfo.to_dict()` with the meeting, hand
`JoinInfo.client_config()` to the join page, and show `VideoUnavailable.message` when the server is down.
"""
