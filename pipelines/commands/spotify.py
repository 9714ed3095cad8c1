"""Spotify commands: ``spotify-import URL`` (a playlist into the library, then its missing
lyrics), ``spotify-login`` (sign in once for private playlists and write-back) and
``spotify-clean-copy --playlist NAME`` (approved songs as a new private Spotify playlist)."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.library_session import open_library, playlist_id_or_none
from pipelines.commands.online_progress import ProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spotify-import", help="import a Spotify playlist by link, URI or id, then fetch its lyrics")
    parser.add_argument("url", help="https://open.spotify.com/playlist/<id>, spotify:playlist:<id> or the id")
    parser.add_argument("--no-lyrics", action="store_true", help="import the songs only; fetch lyrics later with fetch-lyrics")
    parser.set_defaults(handler=run_import)

    login = subparsers.add_parser("spotify-login", help="sign in to Spotify once; prints the refresh token to set")
    login.add_argument("--redirected", help="the address the browser was sent to after signing in (asked for when left out)")
    login.add_argument("--state", help="the state printed with the sign-in link (with --redirected)")
    login.set_defaults(handler=run_login)

    clean = subparsers.add_parser("spotify-clean-copy", help="write a playlist's approved songs to a new private Spotify playlist")
    clean.add_argument("--playlist", required=True, help="the library playlist")
    clean.add_argument("--name", help="the new playlist's name (default: '<playlist> (clean)')")
    clean.set_defaults(handler=run_clean_copy)


def run_import(args: argparse.Namespace) -> int:
    from pipelines.connectors.online import run_spotify_import

    sessions = open_library()
    with ProgressBar("item") as bar:
        result = run_spotify_import(sessions, args.url, bar.update, fetch_lyrics=not args.no_lyrics)
    for detail in result.details:
        print(f"note: {detail}", file=sys.stderr)
    print(result.message if result.ok else f"error: {result.message}", file=sys.stderr)
    if result.spotify is None:
        return 3 if "unreachable" in result.message else 2
    return 0 if result.ok else 1


def run_login(args: argparse.Namespace) -> int:
    from pipelines.connectors.http import ConnectorError
    from pipelines.connectors.spotify import SpotifyClient, code_from_redirect

    try:
        with SpotifyClient.from_settings() as client:
            if args.redirected:
                state = args.state
            else:
                url, state = client.authorize_url()
                print("Open this address, sign in and allow access:\n\n  " + url + "\n", file=sys.stderr)
                print("Then paste the address the browser was sent to (it starts with "
                      f"{client.redirect_uri}):", file=sys.stderr)
                args.redirected = input("> ")
            token = client.exchange_code(code_from_redirect(args.redirected, state))
    except (ConnectorError, ValueError, EOFError) as exc:
        print(f"error: {exc or 'no address given'}", file=sys.stderr)
        return 2
    print("Signed in. Set this in the environment (it is a secret):", file=sys.stderr)
    print(f"DISCERN_SPOTIFY_REFRESH_TOKEN={token.refresh_token}")
    return 0


def run_clean_copy(args: argparse.Namespace) -> int:
    from pipelines.connectors.http import ConnectorError
    from pipelines.connectors.online import write_clean_copy

    sessions = open_library()
    with sessions.begin() as session:
        playlist_id = playlist_id_or_none(session, args.playlist)
    if playlist_id is None:
        return 2
    try:
        with ProgressBar("track") as bar:
            link, count = write_clean_copy(sessions, playlist_id, args.name, bar.update)
    except (ConnectorError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} approved songs to {link}", file=sys.stderr)
    return 0
