@echo off
rem Transfer Studio on Windows: double-click this file. The first start sets up .venv (a few minutes), then the
rem app opens in the browser. Needs Python 3.10 or newer from https://www.python.org/downloads/ and nothing else.
cd /d "%~dp0"
where py >nul 2>nul && goto with_py
where python >nul 2>nul && goto with_python
echo Python was not found on this computer: install Python 3.10 or newer from https://www.python.org/downloads/ (tick "Add python.exe to PATH"), then double-click start.bat again.
pause
exit /b 1

:with_py
py -3 launch.py %*
goto done

:with_python
python launch.py %*

:done
set code=%errorlevel%
if %code%==0 exit /b 0
echo.
echo Transfer Studio stopped with an error (exit code %code%): the lines above say why. Fix that, then double-click start.bat again.
pause
exit /b %code%
