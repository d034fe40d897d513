# The seed's "Python requests POST example", as written; the test fills in only the URL,
# the token and the file path (the three placeholders below).
import requests

url = "URL of the server with the FileTransfer API"

payload={'file_asset': '{"id_session": "Session number", "asset_name": "Asset Name"}'}
files=[
  ('file',('filename',open('PATH to file','rb'),'application type (ex: application/zip)'))
]
headers = {
  'Authorization': 'OpenTera {Previously obtained token}'
}

response = requests.request("POST", url, headers=headers, data=payload, files=files)

print(response.text)
