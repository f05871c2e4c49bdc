window.__THAR_CONFIG = {
  "userInfo": {
    "accountId": "1000000000000000001",
    "userName": "demo_traveller",
    "displayName": "Demo Traveller"
  },
  "archiveInfo": {
    "sizeBytes": "1000",
    "generationDate": "2023-08-20T11:06:14.174Z",
    "isPartialArchive": false,
    "maxPartSizeBytes": "53687091200"
  },
  "dataTypes": {
    "following": {
      "files": [
        {
          "fileName": "data/following.js",
          "globalName": "YTD.following.part0",
          "count": "10"
        }
      ]
    },
    "follower": {
      "files": [
        {
          "fileName": "data/follower.js",
          "globalName": "YTD.follower.part0",
          "count": "7"
        }
      ]
    },
    "tweets": {
      "files": [
        {
          "fileName": "data/tweets.js",
          "globalName": "YTD.tweets.part0",
          "count": "8"
        }
      ]
    }
  }
}